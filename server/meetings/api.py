"""JSON API of the live meeting: the state, and a route for every declared room operation."""

from __future__ import annotations

from uuid import UUID

from litestar import Router, get
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.live.events import Publisher
from server.meetings.room import COMMANDS
from server.meetings.shapes import MeetingState
from server.meetings.views import state_of
from server.people.models import User
from server.platform.db import transaction
from server.web.commands import json_routes


@get("/", name="api.meeting.state", operation_id="meeting_state")
async def meeting_state(
    meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
) -> MeetingState:
    """The whole state of the meeting, as this user may see it."""
    state = await state_of(db, publisher, user, meeting_id)
    async with transaction(db):
        record(
            db, actor, "meeting.view", "meeting", meeting_id, case_id=state.case_id, meeting_id=meeting_id, via="api"
        )
    return state


MeetingsApi = Router(
    path="/api/meetings/{meeting_id:uuid}",
    route_handlers=[meeting_state, *json_routes(COMMANDS)],
    tags=["Live meeting"],
)
