"""Small writes that several room operations share: joining, lowering hands, ending a turn."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update

from server.cases.models import CaseMember
from server.meetings.commands import Ctx, current_turn
from server.meetings.models import Attendance, Hand, Turn
from server.people.models import User
from server.platform.db import utcnow
from server.platform.rows import copy_row, stand_in

VoiceT = TypeVar("VoiceT", Hand, Turn)


async def join_person(ctx: Ctx, person: User) -> bool:
    """Mark ``person`` present (again, if they had left); True if they were not."""
    return mark_present(ctx, person, await ctx.session.get(Attendance, (ctx.meeting.id, person.id)))


def mark_present(ctx: Ctx, person: User, row: Attendance | None) -> bool:
    """As :func:`join_person`, given their attendance as already read (None: never joined)."""
    if row is None:
        ctx.session.add(Attendance(meeting_id=ctx.meeting.id, user_id=person.id, agency_id=person.agency_id))
        return True
    if row.left_at is None:
        return False  # already here: nothing written (the row may be the room before's)
    row.left_at = None
    return True


async def teammate(ctx: Ctx, user_id: uuid.UUID) -> tuple[User, Attendance | None] | None:
    """Someone on the meeting's case team, with their attendance if they ever joined; None for
    anyone else. Someone in the room is found in the room before, when this process holds it
    (exact under the lock: a change to the team raises the room's version too); else one query,
    which gives the session's rows, to write."""
    if ctx.before is not None:
        member = room_user(ctx, user_id)
        here = next((a for a in ctx.before.attendance if a.user_id == user_id and a.left_at is None), None)
        if member is not None and here is not None:
            return member, here
    found = (
        await ctx.session.execute(
            select(User, Attendance)
            .join(CaseMember, (CaseMember.user_id == User.id) & (CaseMember.case_id == ctx.meeting.case_id))
            .outerjoin(Attendance, (Attendance.user_id == User.id) & (Attendance.meeting_id == ctx.meeting.id))
            .where(User.id == user_id)
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def lower_hands(ctx: Ctx, user_id: uuid.UUID, kind: str | None) -> int:
    query = update(Hand).where(Hand.meeting_id == ctx.meeting.id, Hand.user_id == user_id, Hand.state == "waiting")
    if kind is not None:
        query = query.where(Hand.kind == kind)
    result = await ctx.session.execute(query.values(state="lowered", resolved_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def end_turn(ctx: Ctx, now: datetime) -> Turn | None:
    """End the turn under way, if there is one, and answer it."""
    current = await current_turn(ctx)
    if current is not None:
        close_turn(ctx, current, now)
    return current


def close_turn(ctx: Ctx, turn: Turn, now: datetime) -> None:
    """End ``turn`` (the session's row or the room before's, which is never changed in place: the
    change's flush writes it by its id); with the room before, the turns as they now stand go to
    the read ahead."""
    stand_in(ctx.session, Turn, turn.id).ended_at = now
    if ctx.before is not None:
        ended = room_copy(turn, turn.user, ended_at=now)
        ctx.turns_after = None if ended is None else [ended if t.id == turn.id else t for t in ctx.before.turns]


def room_copy(row: VoiceT, user: User | None, **changes: Any) -> VoiceT | None:
    """A hand or a turn as the room holds it: a detached copy with its speaker (the room's own
    User row); None when either is missing, and the read ahead reads it instead."""
    copy = None if user is None else copy_row(row, **changes)
    if copy is not None:
        copy.user = user
    return copy


def room_user(ctx: Ctx, user_id: uuid.UUID) -> User | None:
    """The room before's own row for someone on the team (never the session's)."""
    assert ctx.before is not None
    return next((m.user for m in ctx.before.team if m.user_id == user_id), None)
