"""Hands and the floor: raising and lowering, the chair's overrides and rounds, and turns."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from sqlalchemy import select

from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.meetings import queue
from server.meetings.changes import ChangeKind
from server.meetings.commands import LIVE, Ctx, NoBody, Refusal, Who, command, current_turn
from server.meetings.models import WAITING_HAND_INDEX, Attendance, Hand, Turn
from server.meetings.reading import queue_rows
from server.meetings.room.rows import close_turn, end_turn, lower_hands, mark_present, room_copy, room_user, teammate
from server.meetings.state import counts_as_voice, order_hands, rule_hand
from server.platform.db import utcnow
from server.platform.rows import filled, stand_in
from server.shapes import Timestamp, iso

HAND_KINDS = "kind must be contribution, reply or point_of_order."


class NewHand(msgspec.Struct):
    kind: Annotated[str, msgspec.Meta(max_length=32)] = "contribution"
    user_id: uuid.UUID | None = None  # the chair raising a hand for someone without a device


class LowerHand(msgspec.Struct):
    kind: Annotated[str, msgspec.Meta(max_length=32)] | None = None  # every hand of one's own if none


class MoveHand(msgspec.Struct):
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class FloorNext(msgspec.Struct):
    version: int | None = None  # when given, the call applies only to that version of the room


class HandRaised(msgspec.Struct):
    id: uuid.UUID
    kind: str
    user_id: uuid.UUID
    raised_at: Timestamp


class HandsLowered(msgspec.Struct):
    lowered: bool


class RoundQueued(msgspec.Struct):
    queued: int


class FloorPassed(msgspec.Struct):
    speaker_id: uuid.UUID | None


class TurnEnded(msgspec.Struct):
    ended: bool


def _hand_kind(kind: str) -> queue.HandKind:
    try:
        return queue.HandKind(kind)
    except ValueError:
        raise Invalid(HAND_KINDS, field="kind", code="unknown_hand_kind") from None


def _hand_raised(hand: Hand) -> HandRaised:
    return HandRaised(id=hand.id, kind=hand.kind, user_id=hand.user_id, raised_at=iso(hand.raised_at))


@command(
    "POST", "/hands", who=Who.ATTENDEE, when=LIVE, change=ChangeKind.QUEUE, audit="hand.raise", done="Hand raised.",
    answer=_hand_raised, status_code=201, refusal="Join the meeting before raising your hand.",
    also=frozenset({ChangeKind.ATTENDANCE}),  # the chair raising a hand for someone brings them in
    messages={"user_id": "Choose whose hand to raise."},
    unique={WAITING_HAND_INDEX: Refusal("That hand is already up.", "hand_already_up")},  # one waiting per kind
)  # fmt: skip
async def raise_hand(ctx: Ctx, body: NewHand) -> Hand:
    """Raise a hand (kind contribution, reply or point_of_order); the chair may raise one, with
    user_id, for someone in the room without a device."""
    kind = _hand_kind(body.kind)
    person = ctx.user
    if body.user_id is not None and body.user_id != ctx.user.id:
        if not ctx.is_chair:
            raise Forbidden("Only the chair can raise a hand for someone else.", code="not_chair")
        found = await teammate(ctx, body.user_id)
        if found is None:
            raise Invalid("That person is not on the case's team.", field="user_id", code="not_on_team")
        person, attendance = found
        if mark_present(ctx, person, attendance):
            ctx.changed_too(ChangeKind.ATTENDANCE)
    reply_to = None
    if kind is queue.HandKind.REPLY:
        current = await current_turn(ctx)
        if current is None:
            raise Conflict("Nobody has the floor, so there is no one to reply to.", code="nobody_speaking")
        if current.user_id == person.id:
            raise Conflict("You have the floor; you cannot reply to yourself.", code="reply_to_self")
        reply_to = current.id
    hand = filled(
        Hand(
            meeting_id=ctx.meeting.id,
            user_id=person.id,
            agency_id=person.agency_id,
            kind=kind,
            raised_by_id=ctx.user.id,
            reply_to_turn_id=reply_to,
            raised_at=utcnow(),
        )
    )
    ctx.session.add(hand)  # written with the commit (or before the read ahead reads); the index refuses a twin
    if ctx.before is not None:
        raised = room_copy(hand, room_user(ctx, person.id))
        ctx.hands_after = None if raised is None else [*ctx.before.hands, raised]
    ctx.about("hand", hand.id, kind=kind, for_user=person.id)
    return hand


@command(
    "DELETE", "/hands/mine", form_path="/hands/lower", who=Who.MEMBER, when=LIVE, change=ChangeKind.QUEUE,
    audit="hand.lower", done="Hand lowered.", body_in_query=True,
)  # fmt: skip
async def lower_hand(ctx: Ctx, body: LowerHand) -> HandsLowered:
    """Lower one's own hand (of one kind, or all of them)."""
    if body.kind is not None:
        _hand_kind(body.kind)
    if not await lower_hands(ctx, ctx.user.id, body.kind):
        raise Conflict("You have no hand up.", code="no_hand_up")
    ctx.about("hand", None, kind=body.kind)
    return HandsLowered(lowered=True)


@command(
    "POST", "/hands/{hand_id:uuid}/move", who=Who.CHAIR, when=LIVE, change=ChangeKind.QUEUE, audit="hand.move",
    done="Moved in the queue.", messages={"position": "Say where to move it: a position of 0 (first) or more."},
)  # fmt: skip
async def move_hand(ctx: Ctx, body: MoveHand) -> None:
    """Move a hand in the queue (0 = first): the chair's override, recorded and shown; the hand
    keeps the place given."""
    hand = await ctx.session.get(Hand, ctx.target_id)
    if hand is None or hand.meeting_id != ctx.meeting.id or hand.state != "waiting":
        raise NotFound("No such hand waiting in this meeting.")
    hand.pinned_position = body.position
    hand.moved_at = utcnow()
    hand.moved_by_id = ctx.user.id
    ctx.about("hand", hand.id, position=body.position, for_user=hand.user_id)


@command(
    "POST", "/round", who=Who.CHAIR, when=LIVE, change=ChangeKind.QUEUE, audit="queue.round",
    done="A round has started: every agency present is queued.",
)  # fmt: skip
async def start_round(ctx: Ctx, _: NoBody) -> RoundQueued:
    """Queue every present agency that has no hand up, one person each, so that no voice is
    skipped (the chair)."""
    present = list(
        await ctx.session.scalars(
            select(Attendance)
            .where(Attendance.meeting_id == ctx.meeting.id, Attendance.left_at.is_(None))
            .order_by(Attendance.joined_at)
        )
    )
    rows = await queue_rows(ctx.session, ctx.meeting.id, ctx.before)
    picks = queue.round_hands(
        [(a.user_id, a.agency_id) for a in present if counts_as_voice(ctx.meeting, a.user_id)],
        [rule_hand(h) for h in rows.hands],
        rows.rules,
        ctx.meeting.open_item_id,
    )
    if not picks:
        raise Conflict(
            "The round added nobody: every agency here already has a hand up, or nobody else has joined.",
            code="round_adds_nobody",
        )
    now = utcnow()
    for user_id, agency_id in picks:
        ctx.session.add(
            Hand(
                meeting_id=ctx.meeting.id,
                user_id=user_id,
                agency_id=agency_id,
                kind=queue.HandKind.CONTRIBUTION,
                raised_by_id=ctx.user.id,
                raised_at=now,
                by_round=True,
            )
        )
    ctx.about("meeting", ctx.meeting.id, queued=len(picks))
    return RoundQueued(queued=len(picks))


@command(
    "POST", "/floor/next", who=Who.CHAIR, when=LIVE, change=ChangeKind.FLOOR, audit="floor.give",
    done="The floor has passed on.", versioned=True, messages={"version": "The room version must be a number."},
)  # fmt: skip
async def floor_next(ctx: Ctx, _: FloorNext) -> FloorPassed:
    """End the current turn and give the floor to the head of the queue (the chair). With
    `version`, the call only applies to that version of the room (409 otherwise), so two tabs
    cannot both act."""
    now = utcnow()
    # The order is taken while the current turn is still open: a reply to the speaker only
    # jumps the queue while the turn it answers is the current one.
    hands, turns, rules = await queue_rows(ctx.session, ctx.meeting.id, ctx.before)
    order = order_hands(hands, rules, ctx.meeting.open_item_id, now)
    ended = next((t for t in turns if t.ended_at is None), None)
    if ended is not None:
        close_turn(ctx, ended, now)
    if not order:
        if ended is None:
            raise Conflict("Nobody is waiting to speak.", code="nobody_waiting")
        ctx.about("turn", ended.id, verb="floor.end")
        return FloorPassed(speaker_id=None)
    head = order[0]  # the session's row or the room before's: written by its id
    taken = stand_in(ctx.session, Hand, head.id)
    taken.state, taken.resolved_at = "taken", now
    turn = filled(
        Turn(
            meeting_id=ctx.meeting.id,
            user_id=head.user_id,
            agency_id=head.agency_id,
            hand_id=head.id,
            agenda_item_id=ctx.meeting.open_item_id,
            kind=head.kind,
            started_at=now,
            limit_seconds=ctx.meeting.turn_limit_seconds,
        )
    )
    # One open turn per meeting: the flush sends a table's UPDATEs before its INSERTs, so the
    # last turn ends first (tests/test_rows_with_the_commit.py runs two next speakers in a row).
    ctx.session.add(turn)
    if ctx.before is not None:
        started = room_copy(turn, head.user)
        so_far = ctx.turns_after if ended is not None else ctx.before.turns
        ctx.hands_after = [h for h in hands if h.id != head.id]
        ctx.turns_after = None if started is None or so_far is None else [*so_far, started]
    ctx.about("turn", turn.id, to_user=head.user_id, kind=head.kind)
    return FloorPassed(speaker_id=head.user_id)


@command(
    "POST", "/floor/end", who=Who.SPEAKER, when=LIVE, change=ChangeKind.FLOOR, audit="floor.end",
    done="The turn has ended.", refusal="Only the chair or the speaker can end a turn.",
)  # fmt: skip
async def floor_end(ctx: Ctx, _: NoBody) -> TurnEnded:
    """End the current turn (the chair or the speaker)."""
    current = await end_turn(ctx, utcnow())
    if current is None:
        raise Conflict("Nobody has the floor.", code="nobody_speaking")
    ctx.about("turn", current.id)
    return TurnEnded(ended=True)
