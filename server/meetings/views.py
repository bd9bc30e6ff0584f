"""Reading the room for one person: need-to-know first, then their audience's view."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.live.events import Publisher
from server.meetings.commands import Ran, RoomCaller
from server.meetings.reading import load_room
from server.meetings.service import visible_meeting
from server.meetings.shapes import MeetingState, meeting_state
from server.meetings.state import RoomView, audience_for, view_for
from server.people.models import User
from server.platform.db import utcnow


async def view_of(session: AsyncSession, publisher: Publisher, user: User, meeting_id: uuid.UUID) -> RoomView:
    """The room as ``user`` may see it now, with who is connected; NotFound if not theirs."""
    visible = await visible_meeting(session, user, meeting_id)
    audience = audience_for(visible.case.access.role, is_chair=visible.is_chair)
    room = await load_room(session, meeting_id)
    return view_for(room, audience, utcnow(), await publisher.connected(meeting_id), viewer=user.id)


async def state_of(session: AsyncSession, publisher: Publisher, user: User, meeting_id: uuid.UUID) -> MeetingState:
    return meeting_state(await view_of(session, publisher, user, meeting_id))


async def state_after(room: RoomCaller, meeting_id: uuid.UUID, ran: Ran[Any]) -> MeetingState:
    """The state a change answers with: the room its command read ahead for this process's live
    feed when it did (server/live/ahead.py), else read afresh. The caller's membership was
    checked by the command."""
    if ran.room is None:
        return await state_of(room.session, room.publisher, room.user, meeting_id)
    connected = await room.publisher.connected(meeting_id)
    return meeting_state(view_for(ran.room, ran.audience, utcnow(), connected, viewer=room.user.id))
