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
from server.meetings.state import RoomView
from server.meetings.views import view_of
from server.people.models import User
from server.platform.db import transaction
from server.web.commands import form_routes
from server.web.render import is_htmx, page
from server.web.types import HttpRequest


async def _viewed(db: AsyncSession, actor: Actor, view: RoomView, via: str) -> None:
    async with transaction(db):
        record(
            db,
            actor,
            "meeting.view",
            "meeting",
            view.meeting.id,
            case_id=view.meeting.case_id,
            meeting_id=view.meeting.id,
            via=via,
        )


@get("/", name="room.page")
async def room_page(
    request: HttpRequest, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
) -> Template:
    view = await view_of(db, publisher, user, meeting_id)
    await _viewed(db, actor, view, "room")
    return page(request, "live/room.html", view=view, viewer_flags=viewer_flags(view, user.id))


@get("/present", name="room.present")
async def present_page(
    request: HttpRequest, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
) -> Template:
    """The room for a shared screen: who has the floor and the timer, the queue, who has not yet
    been heard and the open item's decisions, in large type and without a control. Any member
    may open it; it shows what its opener's audience sees (a parent's screen has no
    professionals-only item). It listens on the meeting's socket and, at each change, reads
    itself again (htmx: the page's own #present), so it needs no regions of its own."""
    view = await view_of(db, publisher, user, meeting_id)
    if not is_htmx(request):
        await _viewed(db, actor, view, "present")  # once a screen, not at every refresh
    return page(request, "live/present.html", view=view)


RoomPages = Router(
    path="/meetings/{meeting_id:uuid}/room",
    route_handlers=[room_page, present_page, *form_routes(COMMANDS)],
    include_in_schema=False,
)
