"""Starting and ending the meeting, and who is in it."""

from __future__ import annotations

from sqlalchemy import update

from server.errors import Conflict
from server.meetings.changes import ChangeKind
from server.meetings.commands import BEFORE_END, LIVE, SCHEDULED, Command, Ctx, NoBody, Who
from server.meetings.models import Attendance, Hand, MeetingStatus
from server.meetings.room.rows import end_turn, join_person, lower_hands
from server.minutes.service import issue_minutes
from server.platform.db import utcnow


async def _start(ctx: Ctx, _: NoBody) -> None:
    ctx.meeting.status = MeetingStatus.LIVE
    ctx.meeting.started_at = utcnow()
    await join_person(ctx, ctx.user)


async def _end(ctx: Ctx, _: NoBody) -> None:
    """End the meeting; in the same transaction the minutes are issued and e-mailed (outbox)."""
    now = utcnow()
    ctx.meeting.status = MeetingStatus.ENDED
    ctx.meeting.ended_at = now
    await end_turn(ctx, now)
    await ctx.session.execute(
        update(Hand)
        .where(Hand.meeting_id == ctx.meeting.id, Hand.state == "waiting")
        .values(state="cleared", resolved_at=now)
    )
    await ctx.session.flush()
    await issue_minutes(ctx.session, ctx.settings, ctx.meeting.id)


async def _join(ctx: Ctx, _: NoBody) -> None:
    await join_person(ctx, ctx.user)


async def _leave(ctx: Ctx, _: NoBody) -> None:
    row = await ctx.session.get(Attendance, (ctx.meeting.id, ctx.user.id))
    if row is None or row.left_at is not None:
        raise Conflict("You are not in the meeting.", code="not_joined")
    row.left_at = utcnow()
    await lower_hands(ctx, ctx.user.id, None)


START: Command[NoBody, None] = Command(
    name="start",
    method="POST",
    path="/start",
    who=Who.CHAIR,
    states=SCHEDULED,
    change=ChangeKind.STARTED,
    audit="meeting.start",
    effect=_start,
    body=NoBody,
    summary="Start the meeting (the chair); the chair joins it.",
    done="The meeting has started.",
)
END: Command[NoBody, None] = Command(
    name="end",
    method="POST",
    path="/end",
    who=Who.CHAIR,
    states=LIVE,
    change=ChangeKind.ENDED,
    audit="meeting.end",
    effect=_end,
    body=NoBody,
    summary="End the meeting (the chair): hands are cleared and the minutes are issued.",
    done="The meeting has ended.",
)
JOIN: Command[NoBody, None] = Command(
    name="join",
    method="POST",
    path="/join",
    who=Who.MEMBER,
    states=BEFORE_END,
    change=ChangeKind.ATTENDANCE,
    audit="meeting.join",
    effect=_join,
    body=NoBody,
    summary="Join the meeting: attendance, and a place in the speaking queue.",
    done="You have joined the meeting.",
)
LEAVE: Command[NoBody, None] = Command(
    name="leave",
    method="POST",
    path="/leave",
    who=Who.MEMBER,
    states=BEFORE_END,
    change=ChangeKind.ATTENDANCE,
    audit="meeting.leave",
    effect=_leave,
    body=NoBody,
    summary="Leave the meeting; one's hands are lowered.",
    done="You have left the meeting.",
)
