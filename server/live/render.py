"""Rendering a room for one audience: the changed regions as htmx out-of-band fragments, and the
JSON messages of API clients. Each is produced once per audience per change."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from jinja2 import Environment

from server.live.regions import CHAIR_ALIKE, REGION_ORDER, Region, template_of
from server.meetings.shapes import StateMessage, meeting_state
from server.meetings.state import Audience, RoomView

_encode = msgspec.json.Encoder().encode
MACROS = "live/_macros.html"


def region_html(
    env: Environment,
    view: RoomView,
    regions: Iterable[Region],
    *,
    csrf_token: str = "",
    alike: dict[Region, str] | None = None,
) -> str:
    """The fragments for ``regions``, in a fixed order, each carrying hx-swap-oob. The room's
    macros are made once for all of them: imported with context, as each region does when it is
    rendered inside a page, Jinja would build them again for every region. ``alike`` holds the
    :data:`CHAIR_ALIKE` regions already rendered for the chair or a professional of the same
    room at the same moment, and takes those rendered here for either (never the family's)."""
    wanted = set(regions)
    context = {"view": view, "csrf_token": csrf_token}
    macros = env.get_template(MACROS).make_module(context)
    if view.audience is Audience.FAMILY:
        alike = None

    def fragment(region: Region) -> str:
        if alike is None or region not in CHAIR_ALIKE:
            return env.get_template(template_of(region)).render(context, room_macros=macros)
        if region not in alike:
            alike[region] = env.get_template(template_of(region)).render(context, room_macros=macros)
        return alike[region]

    return "".join(fragment(region) for region in REGION_ORDER if region in wanted)


def json_message(view: RoomView, message_type: str) -> str:
    """One message per change: the whole state is re-sent, never a diff to replay."""
    message = StateMessage(
        meeting_id=view.meeting.id, version=view.meeting.version, type=message_type, state=meeting_state(view)
    )
    return _encode(message).decode()
