"""The meeting room page and the room's form posts.

Every control in the room is a plain form with a real ``action``, so the room works without
JavaScript; with htmx the same forms post in the background. The form routes are generated from
the declared room operations (server/web/commands.py)."""

from __future__ import annotations

from uuid import UUID

from litestar import Router, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.live.events import Publisher
from server.live.viewer import viewer_flags
from server.meetings.room import COMMANDS
from server.meetings.views import view_of
from server.people.models import User
from server.platform.db import transaction
from server.web.commands import form_routes
from server.web.render import page
from server.web.types import HttpRequest


@get("/", name="room.page")
async def room_page(
    request: HttpRequest, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
) -> Template:
    view = await view_of(db, publisher, user, meeting_id)
    async with transaction(db):
        record(
            db,
            actor,
            "meeting.view",
            "meeting",
            meeting_id,
            case_id=view.meeting.case_id,
            meeting_id=meeting_id,
            via="room",
        )
    return page(request, "live/room.html", view=view, viewer_flags=viewer_flags(view, user.id))


RoomPages = Router(
    path="/meetings/{meeting_id:uuid}/room",
    route_handlers=[room_page, *form_routes(COMMANDS)],
    include_in_schema=False,
)
