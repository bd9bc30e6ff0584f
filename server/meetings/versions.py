"""Raising the version of the rooms that show something changed outside them.

An action is shown in the room of the meeting that agreed it and, while open, in the review of
every scheduled or live meeting of its case; a change to it elsewhere (accepted, done, moved) is
a change to those rooms too. So is a change to a case's team (a member added, removed or given
another role), to its name, or to a team member's name or agency: every scheduled or live room
of the case shows them. Such a change raises those rooms' versions in its own transaction, and
is published as its own kind of change after the commit (:func:`publish`), so that open rooms
show it at once and a room's operations, which work from the room as last read, never act on a
team that has changed."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.cases.models import CaseMember
from server.live.events import MeetingChanged, Publisher
from server.meetings.changes import ChangeKind
from server.meetings.models import Meeting, MeetingStatus

OPEN_ROOM = Meeting.status.in_((MeetingStatus.SCHEDULED, MeetingStatus.LIVE))


async def bump_rooms_showing_action(
    session: AsyncSession, case_id: uuid.UUID, meeting_id: uuid.UUID | None
) -> list[MeetingChanged]:
    """Inside the caller's transaction, before it locks the action (rooms lock their meeting
    row first, then actions: the same order everywhere, so no deadlock)."""
    showing = OPEN_ROOM & (Meeting.case_id == case_id)
    return await _bump(
        session, or_(Meeting.id == meeting_id, showing) if meeting_id else showing, ChangeKind.ACTION_UPDATED
    )


async def bump_rooms_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[MeetingChanged]:
    """The case's team changed: inside the caller's transaction, before it writes the team."""
    return await _bump(session, OPEN_ROOM & (Meeting.case_id == case_id), ChangeKind.TEAM)


async def bump_rooms_of_person(session: AsyncSession, user_id: uuid.UUID) -> list[MeetingChanged]:
    """Someone's name or agency changed: every open room of every case they are on shows them."""
    cases = select(CaseMember.case_id).where(CaseMember.user_id == user_id)
    return await _bump(session, OPEN_ROOM & Meeting.case_id.in_(cases), ChangeKind.TEAM)


async def publish(publisher: Publisher, changes: list[MeetingChanged]) -> None:
    """After the commit: tell every web process about each room raised."""
    for change in changes:
        await publisher.meeting_changed(change)


async def _bump(session: AsyncSession, rooms: ColumnElement[bool], kind: ChangeKind) -> list[MeetingChanged]:
    found = await session.execute(
        update(Meeting)
        .where(rooms)
        .values(version=Meeting.version + 1)
        .returning(Meeting.id, Meeting.version)
        .execution_options(synchronize_session=False)
    )
    return [MeetingChanged(m, v, kind) for m, v in found.all()]
