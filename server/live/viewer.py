"""Which of the room's personal controls apply to the person looking.

A live region is rendered once for a whole audience, so it carries every control and app.js
shows the ones that make sense for the viewer (``data-when``). The page itself is rendered for
one person, so it can decide the same thing on the server: without JavaScript the room then
offers only the buttons that do something (no "Lower my hand" with no hand up). The flags are
the ones app.js computes, with the same names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from server.meetings.state import RoomView


@dataclass(frozen=True, slots=True)
class ViewerFlags:
    me: str
    flags: frozenset[str]

    def shows(self, when: str) -> bool:
        """True when every flag of a ``data-when`` holds for the viewer."""
        return all(flag in self.flags for flag in when.split())


def viewer_flags(view: RoomView, user_id: uuid.UUID) -> ViewerFlags:
    present = any(a.user_id == user_id for a in view.present)
    kinds = {h.kind for h in view.queue if h.user_id == user_id}
    speaker = view.speaker.user_id if view.speaker is not None else None
    flags = {
        "present": present,
        "absent": not present,
        "hand-up": bool(kinds),
        "no-contribution": "contribution" not in kinds,
        "no-reply": "reply" not in kinds,
        "no-point-of-order": "point_of_order" not in kinds,
        "floor-other": speaker is not None and speaker != user_id,
        "speaking": speaker is not None and speaker == user_id,
    }
    return ViewerFlags(me=str(user_id), flags=frozenset(name for name, holds in flags.items() if holds))
