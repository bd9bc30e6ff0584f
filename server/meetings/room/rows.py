"""Small writes that several room operations share: joining, lowering hands, ending a turn."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

from server.cases.models import CaseMember
from server.meetings.commands import Ctx, current_turn
from server.meetings.models import Attendance, Hand, Turn
from server.people.models import User
from server.platform.db import utcnow


async def join_person(ctx: Ctx, person: User) -> bool:
    """Mark ``person`` present (again, if they had left); True if they were not."""
    return mark_present(ctx, person, await ctx.session.get(Attendance, (ctx.meeting.id, person.id)))


def mark_present(ctx: Ctx, person: User, row: Attendance | None) -> bool:
    """As :func:`join_person`, given their attendance as already read (None: never joined)."""
    if row is None:
        ctx.session.add(Attendance(meeting_id=ctx.meeting.id, user_id=person.id, agency_id=person.agency_id))
        return True
    arrived = row.left_at is not None
    row.left_at = None
    return arrived


async def teammate(ctx: Ctx, user_id: uuid.UUID) -> tuple[User, Attendance | None] | None:
    """Someone on the meeting's case team, with their attendance if they ever joined; None for
    anyone else (one query)."""
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
    current = await current_turn(ctx)
    if current is not None:
        current.ended_at = now
        await ctx.session.flush()
    return current
