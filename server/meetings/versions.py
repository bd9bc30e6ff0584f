"""Raising the version of the rooms that show something changed outside them.

An action is shown in the room of the meeting that agreed it and, while open, in the review of
every scheduled or live meeting of its case; a change to it elsewhere (accepted, done, moved) is
a change to those rooms too, so it raises their versions in the same transaction and is
published as its own kind of change."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.live.events import MeetingChanged
from server.meetings.changes import ChangeKind
from server.meetings.models import Meeting, MeetingStatus


async def bump_rooms_showing_action(
    session: AsyncSession, case_id: uuid.UUID, meeting_id: uuid.UUID | None
) -> list[MeetingChanged]:
    """Inside the caller's transaction, before it locks the action (rooms lock their meeting
    row first, then actions: the same order everywhere, so no deadlock)."""
    showing = Meeting.status.in_((MeetingStatus.SCHEDULED, MeetingStatus.LIVE)) & (Meeting.case_id == case_id)
    rows = await session.execute(
        update(Meeting)
        .where(or_(Meeting.id == meeting_id, showing) if meeting_id else showing)
        .values(version=Meeting.version + 1)
        .returning(Meeting.id, Meeting.version)
        .execution_options(synchronize_session=False)
    )
    return [MeetingChanged(m, v, ChangeKind.ACTION_UPDATED) for m, v in rows.all()]
