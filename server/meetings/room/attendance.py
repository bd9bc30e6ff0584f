"""Starting and ending the meeting, and who is in it."""

from __future__ import annotations

from sqlalchemy import update

from server.errors import Conflict
from server.meetings.changes import ChangeKind
from server.meetings.commands import BEFORE_END, LIVE, SCHEDULED, Ctx, NoBody, Who, command
from server.meetings.models import Attendance, Hand, MeetingStatus
from server.meetings.room.rows import end_turn, join_person, lower_hands
from server.minutes.letter import after_meeting
from server.platform.db import utcnow
from server.webhooks import service as webhooks


@command(
    "POST", "/start", who=Who.CHAIR, when=SCHEDULED, change=ChangeKind.STARTED, audit="meeting.start",
    done="The meeting has started.",
)  # fmt: skip
async def start(ctx: Ctx, _: NoBody) -> None:
    """Start the meeting (the chair); the chair joins it."""
    ctx.meeting.status = MeetingStatus.LIVE
    ctx.meeting.started_at = utcnow()
    await join_person(ctx, ctx.user)


@command(
    "POST", "/end", who=Who.CHAIR, when=LIVE, change=ChangeKind.ENDED, audit="meeting.end",
    done="The meeting has ended.",
)  # fmt: skip
async def end(ctx: Ctx, _: NoBody) -> None:
    """End the meeting (the chair): hands are cleared, the minutes become a draft open to
    attendees' corrections, and the outcome letter goes to everyone invited, in the same
    transaction (its e-mail goes through the outbox)."""
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
    await after_meeting(ctx.session, ctx.settings, ctx.meeting.id)
    await webhooks.meeting_ended(ctx.session, ctx.meeting)


@command(
    "POST", "/join", who=Who.MEMBER, when=BEFORE_END, change=ChangeKind.ATTENDANCE, audit="meeting.join",
    done="You have joined the meeting.",
)  # fmt: skip
async def join(ctx: Ctx, _: NoBody) -> None:
    """Join the meeting: attendance, and a place in the speaking queue."""
    await join_person(ctx, ctx.user)


@command(
    "POST", "/leave", who=Who.MEMBER, when=BEFORE_END, change=ChangeKind.ATTENDANCE, audit="meeting.leave",
    done="You have left the meeting.",
)  # fmt: skip
async def leave(ctx: Ctx, _: NoBody) -> None:
    """Leave the meeting; one's hands are lowered."""
    row = await ctx.session.get(Attendance, (ctx.meeting.id, ctx.user.id))
    if row is None or row.left_at is not None:
        raise Conflict("You are not in the meeting.", code="not_joined")
    row.left_at = utcnow()
    await lower_hands(ctx, ctx.user.id, None)
