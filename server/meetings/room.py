"""Operations of the live room. Each is one transaction that locks the meeting row, checks who
may do it and in which state, changes the room, raises the version and writes the audit trail;
after the commit the change is published. Locking the meeting row serialises changes to one
meeting, so two chairs' tabs or two hands in the same millisecond cannot corrupt the queue."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.assignment import notify_assigned
from server.actions.models import Action, ActionEvent, OutcomeArea
from server.audit.service import Actor, record
from server.cases.models import CaseMember, CaseRole
from server.cases.service import role_of
from server.config import Settings
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.live.events import ALL_REGIONS, MeetingChanged, Publisher, Region
from server.meetings import queue
from server.meetings.models import (
    AgendaItem,
    Attendance,
    Decision,
    DecisionPosition,
    Hand,
    Meeting,
    MeetingStatus,
    Outcome,
    Position,
    Turn,
)
from server.meetings.state import order_hands, queue_rows, rule_hand, rule_turn
from server.minutes.service import issue_minutes
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.timeutil import today_local

R = Region


@dataclass(frozen=True, slots=True)
class Ctx:
    """What an operation works on: the locked meeting, the caller and their case role."""

    session: AsyncSession
    meeting: Meeting
    user: User
    role: str
    actor: Actor

    @property
    def is_chair(self) -> bool:
        return self.meeting.chair_id == self.user.id

    def audit(self, verb: str, object_type: str, object_id: Any = None, **detail: Any) -> None:
        record(
            self.session,
            self.actor,
            verb,
            object_type,
            object_id,
            case_id=self.meeting.case_id,
            meeting_id=self.meeting.id,
            **detail,
        )


Operation = Callable[[Ctx], Awaitable[Any]]


async def _apply(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    change_type: str,
    regions: frozenset[Region],
    operation: Operation,
    *,
    chair_only: bool = False,
    states: Sequence[MeetingStatus] = (MeetingStatus.LIVE,),
    expected_version: int | None = None,
) -> Any:
    async with transaction(session):
        meeting = await session.scalar(
            select(Meeting)
            .where(Meeting.id == meeting_id)
            .with_for_update(of=Meeting)
            .execution_options(populate_existing=True)
        )
        role = None if meeting is None else await role_of(session, meeting.case_id, user.id)
        if meeting is None or role is None:
            raise NotFound("No such meeting.")
        ctx = Ctx(session, meeting, user, role, actor)
        if chair_only and not ctx.is_chair:
            raise Forbidden("Only the meeting's chair can do that.")
        if meeting.status not in states:
            raise Conflict(_state_message(meeting.status))
        if expected_version is not None and expected_version != meeting.version:
            raise Conflict("The room changed a moment ago; look again and retry.")
        result = await operation(ctx)
        meeting.version += 1
        version = meeting.version
    await publisher.meeting_changed(MeetingChanged(meeting_id, version, change_type, regions))
    return result


def _state_message(status: str) -> str:
    return {
        MeetingStatus.SCHEDULED: "The meeting has not started yet.",
        MeetingStatus.LIVE: "The meeting is already under way.",
        MeetingStatus.ENDED: "The meeting has ended; the room is a record now.",
        MeetingStatus.CANCELLED: "The meeting was cancelled.",
    }[MeetingStatus(status)]


# --- start, end, attendance --------------------------------------------------------------------


async def start(session: AsyncSession, publisher: Publisher, actor: Actor, user: User, meeting_id: uuid.UUID) -> None:
    async def op(ctx: Ctx) -> None:
        ctx.meeting.status = MeetingStatus.LIVE
        ctx.meeting.started_at = utcnow()
        await _join(ctx, ctx.user)
        ctx.audit("meeting.start", "meeting", ctx.meeting.id)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "started",
        ALL_REGIONS,
        op,
        chair_only=True,
        states=(MeetingStatus.SCHEDULED,),
    )


async def end(
    session: AsyncSession, publisher: Publisher, actor: Actor, user: User, meeting_id: uuid.UUID, settings: Settings
) -> None:
    """End the meeting; in the same transaction the minutes are issued and e-mailed (outbox)."""

    async def op(ctx: Ctx) -> None:
        now = utcnow()
        ctx.meeting.status = MeetingStatus.ENDED
        ctx.meeting.ended_at = now
        await _end_turn(ctx, now)
        await ctx.session.execute(
            update(Hand)
            .where(Hand.meeting_id == ctx.meeting.id, Hand.state == "waiting")
            .values(state="cleared", resolved_at=now)
        )
        ctx.audit("meeting.end", "meeting", ctx.meeting.id)
        await ctx.session.flush()
        await issue_minutes(ctx.session, settings, ctx.meeting.id)

    await _apply(session, publisher, actor, user, meeting_id, "ended", ALL_REGIONS, op, chair_only=True)


async def _join(ctx: Ctx, person: User) -> None:
    row = await ctx.session.get(Attendance, (ctx.meeting.id, person.id))
    if row is None:
        ctx.session.add(Attendance(meeting_id=ctx.meeting.id, user_id=person.id, agency_id=person.agency_id))
    else:
        row.left_at = None


async def join(session: AsyncSession, publisher: Publisher, actor: Actor, user: User, meeting_id: uuid.UUID) -> None:
    async def op(ctx: Ctx) -> None:
        await _join(ctx, ctx.user)
        ctx.audit("meeting.join", "meeting", ctx.meeting.id)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "attendance",
        frozenset({R.PEOPLE}),
        op,
        states=(MeetingStatus.SCHEDULED, MeetingStatus.LIVE),
    )


async def leave(session: AsyncSession, publisher: Publisher, actor: Actor, user: User, meeting_id: uuid.UUID) -> None:
    async def op(ctx: Ctx) -> None:
        row = await ctx.session.get(Attendance, (ctx.meeting.id, ctx.user.id))
        if row is None or row.left_at is not None:
            raise Conflict("You are not in the meeting.")
        row.left_at = utcnow()
        await _lower(ctx, ctx.user.id, None)
        ctx.audit("meeting.leave", "meeting", ctx.meeting.id)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "attendance",
        frozenset({R.PEOPLE, R.QUEUE}),
        op,
        states=(MeetingStatus.SCHEDULED, MeetingStatus.LIVE),
    )


# --- agenda ------------------------------------------------------------------------------------


async def open_item(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    item_id: uuid.UUID,
) -> None:
    async def op(ctx: Ctx) -> None:
        item = await ctx.session.get(AgendaItem, item_id)
        if item is None or item.meeting_id != ctx.meeting.id:
            raise NotFound("No such agenda item in this meeting.")
        ctx.meeting.open_item_id = item.id
        item.opened_at = item.opened_at or utcnow()
        ctx.audit("agenda.open", "agenda_item", item.id)

    await _apply(session, publisher, actor, user, meeting_id, "item_opened", ALL_REGIONS, op, chair_only=True)


async def move_item(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    item_id: uuid.UUID,
    position: int,
) -> None:
    """Reorder the agenda: the item takes ``position`` (0 = first), the others close up."""
    if position < 0:
        raise Invalid("The position must be 0 or more.", field="position")

    async def op(ctx: Ctx) -> None:
        items = list(
            await ctx.session.scalars(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == ctx.meeting.id)
                .order_by(AgendaItem.position, AgendaItem.created_at)
            )
        )
        item = next((i for i in items if i.id == item_id), None)
        if item is None:
            raise NotFound("No such agenda item in this meeting.")
        items.remove(item)
        items.insert(min(position, len(items)), item)
        for index, each in enumerate(items):
            each.position = index
        ctx.audit("agenda.move", "agenda_item", item.id, position=position)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "agenda",
        frozenset({R.AGENDA}),
        op,
        chair_only=True,
        states=(MeetingStatus.SCHEDULED, MeetingStatus.LIVE),
    )


async def add_item(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    title: str,
    *,
    professionals_only: bool = False,
    minutes: str = "",
) -> AgendaItem:
    title = title.strip()
    if not title:
        raise Invalid("Enter the agenda item's title.", field="title")
    if len(title) > 300:
        raise Invalid("Keep the title to 300 characters.", field="title")

    async def op(ctx: Ctx) -> AgendaItem:
        last = await ctx.session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == ctx.meeting.id)
        )
        item = AgendaItem(
            meeting_id=ctx.meeting.id,
            position=(last if last is not None else -1) + 1,
            title=title,
            professionals_only=professionals_only,
            minutes=minutes,
        )
        ctx.session.add(item)
        await ctx.session.flush()
        ctx.audit("agenda.add", "agenda_item", item.id, professionals_only=professionals_only)
        return item

    item: AgendaItem = await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "agenda",
        frozenset({R.AGENDA}),
        op,
        chair_only=True,
        states=(MeetingStatus.SCHEDULED, MeetingStatus.LIVE),
    )
    return item


async def set_professionals_only(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    item_id: uuid.UUID,
    professionals_only: bool,
) -> None:
    async def op(ctx: Ctx) -> None:
        item = await ctx.session.get(AgendaItem, item_id)
        if item is None or item.meeting_id != ctx.meeting.id:
            raise NotFound("No such agenda item in this meeting.")
        item.professionals_only = professionals_only
        await ctx.session.execute(
            update(Action).where(Action.agenda_item_id == item.id).values(professionals_only=professionals_only)
        )
        ctx.audit("agenda.visibility", "agenda_item", item.id, professionals_only=professionals_only)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "agenda",
        ALL_REGIONS,
        op,
        chair_only=True,
        states=(MeetingStatus.SCHEDULED, MeetingStatus.LIVE),
    )


# --- hands and the floor -----------------------------------------------------------------------


async def _present(ctx: Ctx, user_id: uuid.UUID) -> bool:
    row = await ctx.session.get(Attendance, (ctx.meeting.id, user_id))
    return row is not None and row.left_at is None


async def _current_turn(ctx: Ctx) -> Turn | None:
    return await ctx.session.scalar(select(Turn).where(Turn.meeting_id == ctx.meeting.id, Turn.ended_at.is_(None)))


async def _raise(ctx: Ctx, person: User, kind: str, raised_by: User) -> Hand:
    try:
        hand_kind = queue.HandKind(kind)
    except ValueError:
        raise Invalid("kind must be contribution, reply or point_of_order.", field="kind") from None
    reply_to = None
    if hand_kind is queue.HandKind.REPLY:
        current = await _current_turn(ctx)
        if current is None:
            raise Conflict("Nobody has the floor, so there is no one to reply to.")
        if current.user_id == person.id:
            raise Conflict("You have the floor; you cannot reply to yourself.")
        reply_to = current.id
    waiting = await ctx.session.scalar(
        select(Hand.id).where(
            Hand.meeting_id == ctx.meeting.id,
            Hand.user_id == person.id,
            Hand.kind == hand_kind,
            Hand.state == "waiting",
        )
    )
    if waiting is not None:
        raise Conflict("That hand is already up.")
    hand = Hand(
        meeting_id=ctx.meeting.id,
        user_id=person.id,
        agency_id=person.agency_id,
        kind=hand_kind,
        raised_by_id=raised_by.id,
        reply_to_turn_id=reply_to,
        raised_at=utcnow(),
    )
    ctx.session.add(hand)
    await ctx.session.flush()
    ctx.audit("hand.raise", "hand", hand.id, kind=hand_kind, for_user=person.id)
    return hand


async def raise_hand(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    kind: str,
    *,
    on_behalf_of: uuid.UUID | None = None,
) -> Hand:
    """Raise one's own hand, or (the chair) raise one for someone in the room without a device."""

    async def op(ctx: Ctx) -> Hand:
        person = ctx.user
        if on_behalf_of is not None and on_behalf_of != ctx.user.id:
            if not ctx.is_chair:
                raise Forbidden("Only the chair can raise a hand for someone else.")
            if await role_of(ctx.session, ctx.meeting.case_id, on_behalf_of) is None:
                raise Invalid("That person is not on the case's team.", field="user_id")
            found = await ctx.session.get(User, on_behalf_of)
            assert found is not None
            person = found
            await _join(ctx, person)
        elif not await _present(ctx, person.id):
            raise Conflict("Join the meeting before raising your hand.")
        return await _raise(ctx, person, kind, ctx.user)

    try:
        hand: Hand = await _apply(
            session, publisher, actor, user, meeting_id, "queue", frozenset({R.QUEUE, R.PEOPLE}), op
        )
    except IntegrityError:
        raise Conflict("That hand is already up.") from None
    return hand


async def _lower(ctx: Ctx, user_id: uuid.UUID, kind: str | None) -> int:
    query = update(Hand).where(Hand.meeting_id == ctx.meeting.id, Hand.user_id == user_id, Hand.state == "waiting")
    if kind is not None:
        query = query.where(Hand.kind == kind)
    result = await ctx.session.execute(query.values(state="lowered", resolved_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def lower_hand(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    kind: str | None = None,
) -> None:
    if kind is not None and kind not in queue.HandKind.__members__.values():
        raise Invalid("kind must be contribution, reply or point_of_order.", field="kind")

    async def op(ctx: Ctx) -> None:
        if not await _lower(ctx, ctx.user.id, kind):
            raise Conflict("You have no hand up.")
        ctx.audit("hand.lower", "hand", None, kind=kind)

    await _apply(session, publisher, actor, user, meeting_id, "queue", frozenset({R.QUEUE}), op)


async def move_hand(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    hand_id: uuid.UUID,
    position: int,
) -> None:
    """The chair's override: the hand keeps the place given, and the room shows it was moved."""
    if position < 0 or position > 10_000:
        raise Invalid("The position must be 0 (first) or more.", field="position")

    async def op(ctx: Ctx) -> None:
        hand = await ctx.session.get(Hand, hand_id)
        if hand is None or hand.meeting_id != ctx.meeting.id or hand.state != "waiting":
            raise NotFound("No such hand waiting in this meeting.")
        hand.pinned_position = position
        hand.moved_at = utcnow()
        hand.moved_by_id = ctx.user.id
        ctx.audit("hand.move", "hand", hand.id, position=position, for_user=hand.user_id)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "queue",
        frozenset({R.QUEUE}),
        op,
        chair_only=True,
    )


async def start_round(
    session: AsyncSession, publisher: Publisher, actor: Actor, user: User, meeting_id: uuid.UUID
) -> int:
    """Queue every present agency that has no hand up, one person each, so no voice is skipped."""

    async def op(ctx: Ctx) -> int:
        present = list(
            await ctx.session.scalars(
                select(Attendance)
                .where(Attendance.meeting_id == ctx.meeting.id, Attendance.left_at.is_(None))
                .order_by(Attendance.joined_at)
            )
        )
        hands = list(
            await ctx.session.scalars(select(Hand).where(Hand.meeting_id == ctx.meeting.id, Hand.state == "waiting"))
        )
        turns = list(await ctx.session.scalars(select(Turn).where(Turn.meeting_id == ctx.meeting.id)))
        picks = queue.round_hands(
            [(a.user_id, a.agency_id) for a in present if a.user_id != ctx.meeting.chair_id],
            [rule_hand(h) for h in hands],
            [rule_turn(t) for t in turns],
            ctx.meeting.open_item_id,
        )
        now = utcnow()
        for user_id, agency_id in picks:
            ctx.session.add(
                Hand(
                    meeting_id=ctx.meeting.id,
                    user_id=user_id,
                    agency_id=agency_id,
                    kind="contribution",
                    raised_by_id=ctx.user.id,
                    raised_at=now,
                )
            )
        ctx.audit("queue.round", "meeting", ctx.meeting.id, queued=len(picks))
        return len(picks)

    queued: int = await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "queue",
        frozenset({R.QUEUE}),
        op,
        chair_only=True,
    )
    return queued


async def _end_turn(ctx: Ctx, now: datetime) -> Turn | None:
    current = await _current_turn(ctx)
    if current is not None:
        current.ended_at = now
        await ctx.session.flush()
    return current


async def floor_next(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    *,
    expected_version: int | None = None,
) -> Turn | None:
    """End the current turn and give the floor to the head of the queue (None if nobody waits)."""

    async def op(ctx: Ctx) -> Turn | None:
        now = utcnow()
        # The order is taken while the current turn is still open: a reply to the speaker only
        # jumps the queue while the turn it answers is the current one.
        hands, turns = await queue_rows(ctx.session, ctx.meeting.id)  # not the whole room
        order = order_hands(hands, turns, ctx.meeting.open_item_id, now)
        ended = await _end_turn(ctx, now)
        if not order:
            if ended is None:
                raise Conflict("Nobody is waiting to speak.")
            ctx.audit("floor.end", "turn", ended.id)
            return None
        head = order[0]
        head.state = "taken"
        head.resolved_at = now
        turn = Turn(
            meeting_id=ctx.meeting.id,
            user_id=head.user_id,
            agency_id=head.agency_id,
            hand_id=head.id,
            agenda_item_id=ctx.meeting.open_item_id,
            kind=head.kind,
            started_at=now,
            limit_seconds=ctx.meeting.turn_limit_seconds,
        )
        ctx.session.add(turn)
        await ctx.session.flush()
        ctx.audit("floor.give", "turn", turn.id, to_user=head.user_id, kind=head.kind)
        return turn

    turn: Turn | None = await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "floor",
        frozenset({R.FLOOR, R.QUEUE, R.PEOPLE, R.BALANCE}),
        op,
        chair_only=True,
        expected_version=expected_version,
    )
    return turn


async def floor_end(
    session: AsyncSession, publisher: Publisher, actor: Actor, user: User, meeting_id: uuid.UUID
) -> None:
    async def op(ctx: Ctx) -> None:
        current = await _current_turn(ctx)
        if current is None:
            raise Conflict("Nobody has the floor.")
        if not ctx.is_chair and current.user_id != ctx.user.id:
            raise Forbidden("Only the chair or the speaker can end a turn.")
        current.ended_at = utcnow()
        ctx.audit("floor.end", "turn", current.id)

    await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "floor",
        frozenset({R.FLOOR, R.QUEUE, R.PEOPLE, R.BALANCE}),
        op,
    )


# --- decisions and actions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionInput:
    agency_id: uuid.UUID
    position: str
    reason: str = ""


async def _team_agencies(ctx: Ctx) -> set[uuid.UUID]:
    rows = await ctx.session.scalars(
        select(User.agency_id)
        .join(CaseMember, CaseMember.user_id == User.id)
        .where(CaseMember.case_id == ctx.meeting.case_id)
    )
    return set(rows)


async def record_decision(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    agenda_item_id: uuid.UUID,
    text: str,
    outcome: str,
    positions: Sequence[PositionInput],
) -> Decision:
    text = text.strip()
    if not text or len(text) > 5000:
        raise Invalid("Write the decision, in up to 5,000 characters.", field="text")
    if outcome not in Outcome.__members__.values():
        raise Invalid("outcome must be agreed, not_agreed or deferred.", field="outcome")
    seen: set[uuid.UUID] = set()
    for p in positions:
        if p.position not in Position.__members__.values():
            raise Invalid("Each position must be agree, disagree or abstain.", field="positions")
        if p.position == Position.DISAGREE and not p.reason.strip():
            raise Invalid(
                "Give the reason for each disagreement, so dissent is on the record.",
                field="positions",
            )
        if p.agency_id in seen:
            raise Invalid("Give one position for each agency.", field="positions")
        seen.add(p.agency_id)

    async def op(ctx: Ctx) -> Decision:
        item = await ctx.session.get(AgendaItem, agenda_item_id)
        if item is None or item.meeting_id != ctx.meeting.id:
            raise Invalid("Choose an agenda item of this meeting.", field="agenda_item_id")
        if not seen <= await _team_agencies(ctx):
            raise Invalid("Positions can only be given for agencies on the case's team.", field="positions")
        decision = Decision(
            meeting_id=ctx.meeting.id,
            agenda_item_id=item.id,
            text=text,
            outcome=outcome,
            recorded_by_id=ctx.user.id,
        )
        decision.positions = [
            DecisionPosition(agency_id=p.agency_id, position=p.position, reason=p.reason.strip()) for p in positions
        ]
        ctx.session.add(decision)
        await ctx.session.flush()
        ctx.audit("decision.record", "decision", decision.id, outcome=outcome, positions=len(positions))
        return decision

    decision: Decision = await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "decision",
        frozenset({R.DECISIONS}),
        op,
        chair_only=True,
    )
    return decision


@dataclass(frozen=True, slots=True)
class ActionInput:
    title: str
    owner_id: uuid.UUID
    due_date: date
    outcome_area: str
    agenda_item_id: uuid.UUID | None = None
    decision_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None


async def assign_action(
    session: AsyncSession,
    publisher: Publisher,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    new: ActionInput,
    *,
    settings: Settings,
    today: date | None = None,
) -> Action:
    title = new.title.strip()
    if not title or len(title) > 2000:
        raise Invalid("Say what is to be done, in up to 2,000 characters.", field="title")
    if new.outcome_area not in OutcomeArea.__members__.values():
        raise Invalid("Choose an outcome area from the list.", field="outcome_area")
    if new.due_date < (today or today_local()):
        raise Invalid("The due date cannot be in the past.", field="due_date")

    async def op(ctx: Ctx) -> Action:
        owner_role = await role_of(ctx.session, ctx.meeting.case_id, new.owner_id)
        if owner_role is None:
            raise Invalid("The owner must be on the case's team.", field="owner_id")
        owner = await ctx.session.get(User, new.owner_id)
        assert owner is not None
        agency_id = new.agency_id or owner.agency_id
        if agency_id not in await _team_agencies(ctx):
            raise Invalid("The agency must be one on the case's team.", field="agency_id")
        item_id, pro_only = await _action_item(ctx, new)
        if pro_only and owner_role == CaseRole.FAMILY:
            raise Invalid(
                "An action under a professionals-only item must be owned by a professional: the family cannot see it.",
                field="owner_id",
            )
        action = Action(
            case_id=ctx.meeting.case_id,
            meeting_id=ctx.meeting.id,
            agenda_item_id=item_id,
            decision_id=new.decision_id,
            title=title,
            owner_id=owner.id,
            agency_id=agency_id,
            due_date=new.due_date,
            outcome_area=new.outcome_area,
            professionals_only=pro_only,
            created_by_id=ctx.user.id,
        )
        ctx.session.add(action)
        await ctx.session.flush()
        ctx.session.add(
            ActionEvent(
                action_id=action.id,
                actor_id=ctx.user.id,
                kind="created",
                to_value=new.due_date.isoformat(),
                note=f"Agreed in {ctx.meeting.title}",
            )
        )
        ctx.audit("action.assign", "action", action.id, owner=owner.id, due_date=new.due_date)
        await notify_assigned(ctx.session, settings, action, by=ctx.user.id)
        return action

    action: Action = await _apply(
        session,
        publisher,
        actor,
        user,
        meeting_id,
        "action",
        frozenset({R.ACTIONS}),
        op,
        chair_only=True,
    )
    await publisher.users_changed([action.owner_id], "notification")
    return action


async def _action_item(ctx: Ctx, new: ActionInput) -> tuple[uuid.UUID | None, bool]:
    """The agenda item an action sits under (from the decision when given), and whether that
    makes it professionals-only."""
    item_id = new.agenda_item_id
    if new.decision_id is not None:
        decision = await ctx.session.get(Decision, new.decision_id)
        if decision is None or decision.meeting_id != ctx.meeting.id:
            raise Invalid("Choose a decision of this meeting.", field="decision_id")
        item_id = item_id or decision.agenda_item_id
    if item_id is None:
        item_id = ctx.meeting.open_item_id
    if item_id is None:
        return None, False
    item = await ctx.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != ctx.meeting.id:
        raise Invalid("Choose an agenda item of this meeting.", field="agenda_item_id")
    return item.id, item.professionals_only
