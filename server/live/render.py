"""Rendering a room for one audience: the changed regions as htmx out-of-band fragments, and the
JSON messages of API clients. Each is produced once per audience per change."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from jinja2 import Environment

from server.live.events import Region
from server.meetings.state import RoomView, state_json

REGION_ORDER = tuple(Region)


def region_html(env: Environment, view: RoomView, regions: Iterable[Region], *, csrf_token: str = "") -> str:
    """The fragments for ``regions``, in a fixed order, each carrying hx-swap-oob."""
    wanted = set(regions)
    parts = [
        env.get_template(f"live/regions/{region.value}.html").render(view=view, csrf_token=csrf_token)
        for region in REGION_ORDER
        if region in wanted
    ]
    return "".join(parts)


def json_message(view: RoomView, change_type: str) -> str:
    """One message per change: the whole state is re-sent, never a diff to replay."""
    return msgspec.json.encode(
        {
            "meeting_id": str(view.meeting.id),
            "version": view.meeting.version,
            "type": change_type,
            "state": state_json(view),
        }
    ).decode()
