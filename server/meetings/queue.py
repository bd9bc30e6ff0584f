"""The equal-voice rules: who speaks next, who has not been heard, who a round queues.

Partners are equal in their ability to be heard whatever their power or expertise, and the
family is an equal member. This module is where that promise becomes concrete, so it is kept
pure (no I/O, no imports from the rest of the app): the services load hands and turns inside
one transaction, call these functions, and store or render the result. Being pure, the rules
can be tested exhaustively and every web process computes the same order from the same state.

All datetimes passed in must be comparable with each other (in practice: timezone-aware UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID

__all__ = [
    "Hand",
    "HandKind",
    "SpeakingTime",
    "Turn",
    "may_raise",
    "next_speaker",
    "not_yet_heard",
    "order_queue",
    "round_hands",
    "speaking_seconds",
]


class HandKind(StrEnum):
    """Why a hand is up; the kind decides which tier of the queue it joins."""

    POINT_OF_ORDER = "point_of_order"
    REPLY = "reply"
    CONTRIBUTION = "contribution"


@dataclass(frozen=True, slots=True)
class Hand:
    """A raised hand as the rules see it.

    `reply_to_turn_id` names the turn a reply answers; it only earns reply priority while that
    turn is still the current one. `pinned_position` (0 = first) and `moved_at` are set when
    the chair moves the hand: the chair's placement then beats the rules, and the move is
    recorded elsewhere so that it is shown.
    """

    id: UUID
    user_id: UUID
    agency_id: UUID
    kind: HandKind
    raised_at: datetime
    reply_to_turn_id: UUID | None = None
    pinned_position: int | None = None
    moved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One stretch of someone holding the floor; `ended_at` is None while they still speak."""

    id: UUID
    user_id: UUID
    agency_id: UUID
    agenda_item_id: UUID | None
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class SpeakingTime:
    """Seconds spoken in the meeting, per agency and per person (read-only views).

    The family has its own agency id, so its members' time adds up as one agency's, exactly
    like the members of any professional agency. Absent ids have spoken for 0 seconds.
    """

    by_agency: Mapping[UUID, float]
    by_user: Mapping[UUID, float]


# --- speaking time and who has been heard ------------------------------------------------


def _turn_duration(turn: Turn, now: datetime) -> timedelta:
    """Length of a turn, an open one counting up to `now`; never negative.

    Clock skew between processes can put an end before a start; counting that as negative
    time would push an agency up the queue, so it counts as nothing instead.
    """
    end = now if turn.ended_at is None else turn.ended_at
    return max(end - turn.started_at, timedelta(0))


def speaking_seconds(turns: Iterable[Turn], now: datetime) -> SpeakingTime:
    """Total speaking time per agency and per person, an open turn counting up to `now`.

    Sums are kept as timedeltas (exact microseconds) and converted once, so two agencies that
    spoke for the same time compare equal whatever the number and order of their turns.
    """
    by_agency: dict[UUID, timedelta] = {}
    by_user: dict[UUID, timedelta] = {}
    for turn in turns:
        duration = _turn_duration(turn, now)
        by_agency[turn.agency_id] = by_agency.get(turn.agency_id, timedelta(0)) + duration
        by_user[turn.user_id] = by_user.get(turn.user_id, timedelta(0)) + duration
    return SpeakingTime(
        by_agency=MappingProxyType({k: v.total_seconds() for k, v in by_agency.items()}),
        by_user=MappingProxyType({k: v.total_seconds() for k, v in by_user.items()}),
    )


def _turns_on_item(turns: Iterable[Turn], open_item_id: UUID | None) -> list[Turn]:
    """Turns taken on the open item; none while no item is open.

    With no item open there is nothing to have been heard on, so no one counts as heard
    (turns without an item do not make a "None item" of their own).
    """
    if open_item_id is None:
        return []
    return [turn for turn in turns if turn.agenda_item_id == open_item_id]


def _users_heard_on_item(turns: Iterable[Turn], open_item_id: UUID | None) -> frozenset[UUID]:
    """People who have taken a turn (finished or not) on the open item."""
    return frozenset(turn.user_id for turn in _turns_on_item(turns, open_item_id))


def not_yet_heard(present_agency_ids: Iterable[UUID], turns: Iterable[Turn], open_item_id: UUID | None) -> list[UUID]:
    """Present agencies with no turn on the open item, in the order given, without repeats.

    The room shows this list per item so that a silent agency is visible to the chair.
    With no item open there is nothing to be heard on, so the list is empty.
    """
    if open_item_id is None:
        return []
    heard = frozenset(turn.agency_id for turn in _turns_on_item(turns, open_item_id))
    return [agency_id for agency_id in dict.fromkeys(present_agency_ids) if agency_id not in heard]


# --- the queue ---------------------------------------------------------------------------

_TIER_POINT_OF_ORDER = 0
_TIER_REPLY = 1
_TIER_CONTRIBUTION = 2

_RuleKey = tuple[int, bool, float, float, datetime, UUID]
"""(tier, heard on item, agency seconds, person seconds, raised at, hand id)."""


@dataclass(frozen=True, slots=True)
class _Context:
    """What the rules need to know about the meeting besides the hands themselves."""

    heard_on_item: frozenset[UUID]
    time: SpeakingTime
    current_turn_id: UUID | None


def _tier(hand: Hand, current_turn_id: UUID | None) -> int:
    """Point of order first, then live replies; a stale reply falls back to contribution.

    A reply is live only while the turn it answers is still the current one. Once the
    speaker has changed, the reply keeps its place as an ordinary contribution so that the
    person is not lost. Giving the floor to one reply starts a new turn, which makes the
    other replies to the old turn stale: at most one reply jumps the queue at a time.
    """
    if hand.kind is HandKind.POINT_OF_ORDER:
        return _TIER_POINT_OF_ORDER
    is_live_reply = (
        hand.kind is HandKind.REPLY and current_turn_id is not None and hand.reply_to_turn_id == current_turn_id
    )
    return _TIER_REPLY if is_live_reply else _TIER_CONTRIBUTION


def _rule_key(hand: Hand, context: _Context) -> _RuleKey:
    """Sort key of an unmoved hand: lower sorts first; the hand id makes the order total.

    Points of order and live replies go by time raised alone. Contributions go first by
    whether the person is still unheard on this item, then by their agency's time, then by
    their own time, then by time raised.
    """
    tier = _tier(hand, context.current_turn_id)
    if tier != _TIER_CONTRIBUTION:
        return (tier, False, 0.0, 0.0, hand.raised_at, hand.id)
    return (
        tier,
        hand.user_id in context.heard_on_item,
        context.time.by_agency.get(hand.agency_id, 0.0),
        context.time.by_user.get(hand.user_id, 0.0),
        hand.raised_at,
        hand.id,
    )


def _move_key(hand: Hand) -> tuple[int, datetime, UUID]:
    """Order in which the chair's moves are replayed: oldest move first, so the latest wins.

    A pinned hand with no recorded move time is replayed before every timed move.
    """
    if hand.moved_at is None:
        return (0, hand.raised_at, hand.id)
    return (1, hand.moved_at, hand.id)


def _place_pinned(ordered: list[Hand], pinned: Iterable[Hand]) -> list[Hand]:
    """Insert each moved hand at its pinned position, clamped to the queue as it stands."""
    queue = list(ordered)
    for hand in sorted(pinned, key=_move_key):
        position = hand.pinned_position or 0
        queue.insert(min(max(position, 0), len(queue)), hand)
    return queue


def order_queue(
    hands: Iterable[Hand],
    turns: Sequence[Turn],
    *,
    open_item_id: UUID | None,
    current_turn_id: UUID | None,
    now: datetime,
) -> list[Hand]:
    """The speaking queue: the rule order of unmoved hands, then the chair's moves on top.

    The result depends only on the set of hands, never on the order they were loaded in,
    so every web process shows the same queue.
    """
    all_hands = list(hands)
    context = _Context(
        heard_on_item=_users_heard_on_item(turns, open_item_id),
        time=speaking_seconds(turns, now),
        current_turn_id=current_turn_id,
    )
    unmoved = [hand for hand in all_hands if hand.pinned_position is None]
    moved = [hand for hand in all_hands if hand.pinned_position is not None]
    ordered = sorted(unmoved, key=lambda hand: _rule_key(hand, context))
    return _place_pinned(ordered, moved)


def next_speaker(ordered: Sequence[Hand]) -> Hand | None:
    """The head of an ordered queue, or None when no hand is up."""
    return ordered[0] if ordered else None


def may_raise(hands: Iterable[Hand], user_id: UUID, kind: HandKind) -> bool:
    """Whether `user_id` may raise a new hand of `kind`: one hand of each kind per person.

    Several hands of one kind would let one voice take several places in the queue.
    """
    return not any(hand.user_id == user_id and hand.kind is kind for hand in hands)


# --- rounds ------------------------------------------------------------------------------


def _latest_instant(turns: Iterable[Turn]) -> datetime | None:
    """The latest start or end in the history: a pure stand-in for "now" when none is given."""
    instants = [t.ended_at if t.ended_at is not None else t.started_at for t in turns]
    return max(instants, default=None)


def _round_pick_key(
    member: tuple[int, UUID], heard_on_item: frozenset[UUID], time: SpeakingTime
) -> tuple[bool, float, int]:
    """Who speaks for an agency in a round: unheard on the item, least time, joined first."""
    join_index, user_id = member
    return (user_id in heard_on_item, time.by_user.get(user_id, 0.0), join_index)


def round_hands(
    present: Sequence[tuple[UUID, UUID]],
    hands: Iterable[Hand],
    turns: Sequence[Turn],
    open_item_id: UUID | None,
    *,
    now: datetime | None = None,
) -> list[tuple[UUID, UUID]]:
    """The (user_id, agency_id) pairs a go-round queues as contributions.

    A round queues every present agency once so that no voice is skipped. An agency that
    already has any hand up is already in the queue and is left out. For each other agency
    the round picks the member who has not yet spoken on the open item, then who has spoken
    least in the meeting, then who joined first; pairs come in the order the agencies' first
    members joined. Open turns count up to `now`, or up to the latest instant in `turns`.
    """
    agencies_with_hand = frozenset(hand.agency_id for hand in hands)
    members: dict[UUID, list[tuple[int, UUID]]] = {}
    for join_index, (user_id, agency_id) in enumerate(dict.fromkeys(present)):
        if agency_id not in agencies_with_hand:
            members.setdefault(agency_id, []).append((join_index, user_id))
    heard = _users_heard_on_item(turns, open_item_id)
    until = now if now is not None else _latest_instant(turns)
    time = speaking_seconds(turns, until) if until is not None else SpeakingTime({}, {})
    picks: list[tuple[UUID, UUID]] = []
    for agency_id, candidates in members.items():
        _, user_id = min(candidates, key=lambda member: _round_pick_key(member, heard, time))
        picks.append((user_id, agency_id))
    return picks
