"""The equal-voice rules: one example per rule and tie-break, then invariants with hypothesis.

Every example is built so that it fails if its rule is removed or reordered: the hand that
the rule favours is always the one that the next rule down would have put second.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.meetings.queue import (
    Hand,
    HandKind,
    SpeakingTime,
    Turn,
    may_raise,
    next_speaker,
    not_yet_heard,
    order_queue,
    round_hands,
    speaking_seconds,
)

POO = HandKind.POINT_OF_ORDER
REPLY = HandKind.REPLY
CONTRIB = HandKind.CONTRIBUTION

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uid(n: int) -> UUID:
    return UUID(int=n)


HEALTH, SCHOOL, SOCIAL, POLICE, FAMILY = uid(11), uid(12), uid(13), uid(14), uid(15)
NURSE, HV2, TEACHER, SOCIAL_WORKER, OFFICER, MUM, DAD = (uid(n) for n in range(101, 108))
AGENCY_OF = {
    NURSE: HEALTH,
    HV2: HEALTH,
    TEACHER: SCHOOL,
    SOCIAL_WORKER: SOCIAL,
    OFFICER: POLICE,
    MUM: FAMILY,
    DAD: FAMILY,
}
ITEM_A, ITEM_B = uid(201), uid(202)

_ids = iter(range(10_000, 1_000_000))


def hand(
    user: UUID,
    kind: HandKind = CONTRIB,
    *,
    raised: float = 0,
    hand_id: UUID | None = None,
    reply_to: UUID | None = None,
    pinned: int | None = None,
    moved: float | None = None,
) -> Hand:
    return Hand(
        id=hand_id if hand_id is not None else uid(next(_ids)),
        user_id=user,
        agency_id=AGENCY_OF[user],
        kind=kind,
        raised_at=at(raised),
        reply_to_turn_id=reply_to,
        pinned_position=pinned,
        moved_at=None if moved is None else at(moved),
    )


def turn(
    user: UUID,
    start: float,
    end: float | None,
    *,
    item: UUID | None = ITEM_A,
    turn_id: UUID | None = None,
) -> Turn:
    return Turn(
        id=turn_id if turn_id is not None else uid(next(_ids)),
        user_id=user,
        agency_id=AGENCY_OF[user],
        agenda_item_id=item,
        started_at=at(start),
        ended_at=None if end is None else at(end),
    )


def order(
    hands: Sequence[Hand],
    turns: Sequence[Turn] = (),
    *,
    open_item_id: UUID | None = ITEM_A,
    current_turn_id: UUID | None = None,
    now: datetime = NOW,
) -> list[Hand]:
    return order_queue(hands, turns, open_item_id=open_item_id, current_turn_id=current_turn_id, now=now)


# --- the public types ---------------------------------------------------------------------


def test_hand_kinds_have_stable_wire_values() -> None:
    assert [k.value for k in HandKind] == ["point_of_order", "reply", "contribution"]
    assert HandKind("reply") is REPLY


def test_hand_and_turn_are_immutable() -> None:
    h = hand(NURSE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.pinned_position = 0  # type: ignore[misc]
    assert not hasattr(h, "__dict__")  # slots


# --- rule 1: points of order --------------------------------------------------------------


def test_points_of_order_come_first_earliest_first() -> None:
    current = uid(900)
    contribution = hand(NURSE, raised=0)
    reply = hand(TEACHER, REPLY, raised=0, reply_to=current)
    late_point = hand(MUM, POO, raised=5)
    early_point = hand(OFFICER, POO, raised=3)
    queue = order([contribution, reply, late_point, early_point], current_turn_id=current)
    assert queue == [early_point, late_point, reply, contribution]


def test_point_of_order_beats_contribution_by_unheard_person_with_no_time() -> None:
    heard_point = hand(TEACHER, POO, raised=10)
    unheard = hand(NURSE, raised=0)
    turns = [turn(TEACHER, 0, 500)]
    assert order([unheard, heard_point], turns) == [heard_point, unheard]


# --- rule 2: replies to the current turn --------------------------------------------------


def test_replies_to_the_current_turn_come_next_earliest_first() -> None:
    current = turn(OFFICER, 100, None, turn_id=uid(900))
    late_reply = hand(TEACHER, REPLY, raised=7, reply_to=current.id)
    early_reply = hand(NURSE, REPLY, raised=2, reply_to=current.id)
    contribution = hand(MUM, raised=0)
    queue = order([late_reply, contribution, early_reply], [current], current_turn_id=current.id)
    assert queue == [early_reply, late_reply, contribution]


def test_stale_reply_ranks_as_contribution_not_as_reply() -> None:
    old, current = uid(900), uid(901)
    stale = hand(TEACHER, REPLY, raised=0, reply_to=old)
    live = hand(NURSE, REPLY, raised=9, reply_to=current)
    unheard = hand(MUM, raised=5)
    turns = [turn(TEACHER, 0, 60, turn_id=old), turn(OFFICER, 60, None, turn_id=current)]
    # The stale reply was raised first but its author has spoken on the item: as an ordinary
    # contribution it now goes after the family member who has not.
    queue = order([stale, live, unheard], turns, current_turn_id=current, now=at(120))
    assert queue == [live, unheard, stale]


def test_stale_reply_keeps_its_place_among_contributions() -> None:
    stale = hand(TEACHER, REPLY, raised=1, reply_to=uid(900))
    later = hand(NURSE, raised=2)
    queue = order([later, stale], current_turn_id=uid(901))
    assert queue == [stale, later]


def test_reply_without_a_current_turn_ranks_as_contribution() -> None:
    reply = hand(TEACHER, REPLY, raised=5, reply_to=uid(900))
    contribution = hand(NURSE, raised=1)
    assert order([reply, contribution], current_turn_id=None) == [contribution, reply]


@pytest.mark.parametrize("current", [uid(900), None])
def test_reply_with_no_target_ranks_as_contribution(current: UUID | None) -> None:
    reply = hand(TEACHER, REPLY, raised=5, reply_to=None)
    contribution = hand(NURSE, raised=1)
    assert order([reply, contribution], current_turn_id=current) == [contribution, reply]


# --- rule 3: contributions ----------------------------------------------------------------


def test_unheard_on_item_beats_lower_agency_time() -> None:
    # The teacher's school has far less time, but the teacher has spoken on this item and
    # the nurse has not: the nurse goes first.
    turns = [turn(TEACHER, 0, 10, item=ITEM_A), turn(NURSE, 20, 320, item=ITEM_B)]
    teacher, nurse = hand(TEACHER, raised=0), hand(NURSE, raised=1)
    assert order([teacher, nurse], turns, open_item_id=ITEM_A) == [nurse, teacher]


def test_open_turn_counts_as_heard_on_item() -> None:
    turns = [turn(TEACHER, 0, None, item=ITEM_A), turn(NURSE, -400, -100, item=ITEM_B)]
    teacher, nurse = hand(TEACHER, raised=0), hand(NURSE, raised=1)
    assert order([teacher, nurse], turns, now=at(1)) == [nurse, teacher]


def test_turns_on_other_items_do_not_count_as_heard() -> None:
    turns = [turn(TEACHER, 0, 10, item=ITEM_B), turn(NURSE, 20, 320, item=ITEM_B)]
    teacher, nurse = hand(TEACHER, raised=1), hand(NURSE, raised=0)
    # Neither has been heard on ITEM_A, so agency time decides: school 10 s < health 300 s.
    assert order([nurse, teacher], turns, open_item_id=ITEM_A) == [teacher, nurse]


def test_no_open_item_makes_the_heard_rule_neutral() -> None:
    turns = [turn(TEACHER, 0, 10, item=None), turn(NURSE, 20, 320, item=ITEM_B)]
    teacher, nurse = hand(TEACHER, raised=1), hand(NURSE, raised=0)
    assert order([nurse, teacher], turns, open_item_id=None) == [teacher, nurse]


def test_lower_agency_time_beats_lower_personal_time() -> None:
    # The nurse herself has not spoken, but her colleague has used 200 s for health; the
    # teacher has used 100 s for school. School has had less, so the teacher goes first.
    turns = [turn(HV2, 0, 200, item=ITEM_B), turn(TEACHER, 200, 300, item=ITEM_B)]
    nurse, teacher = hand(NURSE, raised=0), hand(TEACHER, raised=1)
    assert order([nurse, teacher], turns) == [teacher, nurse]


def test_family_counts_as_one_agency() -> None:
    # Mum has spoken for 90 s, so the family has had 90 s even though Dad has had none.
    turns = [turn(MUM, 0, 90, item=ITEM_B), turn(TEACHER, 90, 150, item=ITEM_B)]
    dad, teacher = hand(DAD, raised=0), hand(TEACHER, raised=1)
    assert order([dad, teacher], turns) == [teacher, dad]


def test_family_with_least_time_goes_before_professionals() -> None:
    turns = [turn(MUM, 0, 30, item=ITEM_B), turn(TEACHER, 30, 150, item=ITEM_B)]
    teacher, mum = hand(TEACHER, raised=0), hand(MUM, raised=1)
    assert order([teacher, mum], turns) == [mum, teacher]


def test_open_turn_counts_towards_agency_time_up_to_now() -> None:
    # Both have spoken on the item. The teacher is still speaking (300 s so far by now);
    # the nurse spoke 100 s. Counting the open turn as nothing would put the teacher first.
    turns = [turn(NURSE, -200, -100), turn(TEACHER, 0, None)]
    teacher, nurse = hand(TEACHER, raised=0), hand(NURSE, raised=1)
    assert order([teacher, nurse], turns, now=at(300)) == [nurse, teacher]
    assert order([teacher, nurse], turns, now=at(50)) == [teacher, nurse]


def test_lower_personal_time_breaks_equal_agency_time() -> None:
    # Same agency, so the same agency time; the nurse has had more time herself.
    turns = [turn(NURSE, 0, 50, item=ITEM_B), turn(HV2, 50, 60, item=ITEM_B)]
    nurse, colleague = hand(NURSE, raised=0), hand(HV2, raised=1)
    assert order([nurse, colleague], turns) == [colleague, nurse]


def test_equal_time_goes_to_earliest_raised() -> None:
    later = hand(NURSE, raised=5, hand_id=uid(1))
    earlier = hand(TEACHER, raised=4, hand_id=uid(2))
    assert order([later, earlier]) == [earlier, later]


def test_equal_agency_time_from_different_turns_is_a_true_tie() -> None:
    # 0.1 s + 0.2 s and 0.3 s must compare equal, so the earlier hand wins.
    turns = [
        turn(NURSE, 0, 0.1, item=ITEM_B),
        turn(NURSE, 1, 1.2, item=ITEM_B),
        turn(TEACHER, 2, 2.3, item=ITEM_B),
    ]
    teacher, nurse = hand(TEACHER, raised=1), hand(NURSE, raised=0)
    assert order([teacher, nurse], turns) == [nurse, teacher]


def test_full_tie_is_broken_by_hand_id() -> None:
    # The ids run against the user ids, so a tie-break on anything else shows.
    low = hand(TEACHER, raised=0, hand_id=uid(1))
    high = hand(NURSE, raised=0, hand_id=uid(2))
    assert order([high, low]) == [low, high]
    assert order([low, high]) == [low, high]


def test_tie_break_by_id_also_applies_to_points_of_order_and_replies() -> None:
    current = uid(900)
    p_low, p_high = hand(NURSE, POO, hand_id=uid(3)), hand(TEACHER, POO, hand_id=uid(4))
    r_low = hand(MUM, REPLY, hand_id=uid(5), reply_to=current)
    r_high = hand(OFFICER, REPLY, hand_id=uid(6), reply_to=current)
    queue = order([r_high, p_high, r_low, p_low], current_turn_id=current)
    assert queue == [p_low, p_high, r_low, r_high]


def test_empty_queue() -> None:
    assert order([]) == []
    assert next_speaker([]) is None


def test_next_speaker_is_the_head_of_the_queue() -> None:
    first, second = hand(NURSE, POO), hand(TEACHER)
    assert next_speaker(order([second, first])) == first


# --- the chair's moves --------------------------------------------------------------------


def test_moved_hand_at_zero_goes_before_a_point_of_order() -> None:
    point = hand(OFFICER, POO, raised=0)
    moved = hand(MUM, raised=9, pinned=0, moved=10)
    assert order([point, moved]) == [moved, point]


def test_moved_hand_sits_at_its_position_among_the_rule_order() -> None:
    a, b, c = hand(NURSE, raised=0), hand(TEACHER, raised=1), hand(OFFICER, raised=2)
    moved = hand(MUM, raised=3, pinned=1, moved=10)
    assert order([moved, c, b, a]) == [a, moved, b, c]


def test_moved_hand_keeps_its_position_although_the_rules_would_put_it_first() -> None:
    point_moved_back = hand(OFFICER, POO, raised=0, pinned=2, moved=10)
    a, b = hand(NURSE, raised=1), hand(TEACHER, raised=2)
    assert order([point_moved_back, a, b]) == [a, b, point_moved_back]


def test_pinned_position_past_the_end_is_clamped_to_the_end() -> None:
    a, b = hand(NURSE, raised=0), hand(TEACHER, raised=1)
    moved = hand(MUM, raised=-5, pinned=40, moved=10)
    assert order([moved, a, b]) == [a, b, moved]


def test_negative_pinned_position_is_clamped_to_the_front() -> None:
    a, b, c = hand(NURSE, raised=0), hand(TEACHER, raised=1), hand(OFFICER, raised=2)
    moved = hand(MUM, raised=5, pinned=-1, moved=10)
    assert order([a, b, c, moved]) == [moved, a, b, c]


def test_later_move_to_the_same_position_wins_it() -> None:
    a = hand(NURSE, raised=0)
    first_moved = hand(MUM, raised=2, pinned=0, moved=10)
    last_moved = hand(TEACHER, raised=1, pinned=0, moved=20)
    assert order([last_moved, a, first_moved]) == [last_moved, first_moved, a]


def test_moves_are_replayed_in_move_order_not_raise_order() -> None:
    a, b = hand(NURSE, raised=0), hand(OFFICER, raised=1)
    # Moved first to the front, then the other to position 2 of the queue as it then was.
    # Replaying in raise order (to_two first) would give [to_front, a, b, to_two].
    to_front = hand(MUM, raised=3, pinned=0, moved=10)
    to_two = hand(TEACHER, raised=2, pinned=2, moved=20)
    assert order([to_two, to_front, a, b]) == [to_front, a, to_two, b]


def test_pinned_without_move_time_is_replayed_before_timed_moves() -> None:
    a = hand(NURSE, raised=0)
    untimed = hand(MUM, raised=1, pinned=0)
    timed = hand(TEACHER, raised=2, pinned=0, moved=10)
    assert order([timed, untimed, a]) == [timed, untimed, a]


# --- one hand of each kind ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HandKind))
def test_may_not_raise_a_second_hand_of_the_same_kind(kind: HandKind) -> None:
    hands = [hand(NURSE, kind)]
    assert not may_raise(hands, NURSE, kind)


@pytest.mark.parametrize("kind", list(HandKind))
def test_may_raise_a_hand_of_another_kind(kind: HandKind) -> None:
    hands = [hand(NURSE, other) for other in HandKind if other is not kind]
    assert may_raise(hands, NURSE, kind)


def test_another_persons_hand_does_not_block() -> None:
    hands = [hand(HV2, CONTRIB), hand(TEACHER, CONTRIB)]
    assert may_raise(hands, NURSE, CONTRIB)
    assert may_raise([], NURSE, CONTRIB)


# --- speaking time ------------------------------------------------------------------------


def test_speaking_seconds_sums_per_agency_and_per_person() -> None:
    turns = [turn(NURSE, 0, 30), turn(HV2, 30, 40), turn(NURSE, 40, 45), turn(MUM, 50, 70)]
    time = speaking_seconds(turns, NOW)
    assert dict(time.by_agency) == {HEALTH: 45.0, FAMILY: 20.0}
    assert dict(time.by_user) == {NURSE: 35.0, HV2: 10.0, MUM: 20.0}


def test_speaking_seconds_counts_an_open_turn_up_to_now() -> None:
    turns = [turn(TEACHER, 0, 10), turn(TEACHER, 100, None)]
    assert speaking_seconds(turns, at(160)).by_user == {TEACHER: 70.0}
    assert speaking_seconds(turns, at(100)).by_agency == {SCHOOL: 10.0}


def test_speaking_seconds_never_counts_negative_time() -> None:
    turns = [turn(TEACHER, 50, 40), turn(NURSE, 100, None), turn(NURSE, 0, 5)]
    time = speaking_seconds(turns, at(90))
    assert dict(time.by_user) == {TEACHER: 0.0, NURSE: 5.0}


def test_speaking_seconds_of_no_turns_is_empty_and_read_only() -> None:
    time = speaking_seconds([], NOW)
    assert time == SpeakingTime(by_agency={}, by_user={})
    with pytest.raises(TypeError):
        time.by_user[NURSE] = 1.0  # type: ignore[index]


# --- not yet heard ------------------------------------------------------------------------


def test_not_yet_heard_lists_present_agencies_without_a_turn_on_the_item() -> None:
    turns = [
        turn(HV2, 0, 10, item=ITEM_A),  # health heard through a colleague
        turn(TEACHER, 10, 20, item=ITEM_B),  # school heard only on another item
        turn(MUM, 20, None, item=ITEM_A),  # family speaking now
    ]
    present = [POLICE, HEALTH, SCHOOL, FAMILY, SOCIAL]
    assert not_yet_heard(present, turns, ITEM_A) == [POLICE, SCHOOL, SOCIAL]


def test_not_yet_heard_keeps_given_order_without_repeats() -> None:
    assert not_yet_heard([SOCIAL, HEALTH, SOCIAL, SCHOOL], [], ITEM_A) == [SOCIAL, HEALTH, SCHOOL]


def test_not_yet_heard_ignores_agencies_not_present() -> None:
    assert not_yet_heard([SCHOOL], [turn(NURSE, 0, 1)], ITEM_A) == [SCHOOL]


def test_not_yet_heard_is_empty_with_no_open_item() -> None:
    assert not_yet_heard([SCHOOL, HEALTH], [turn(NURSE, 0, 1, item=None)], None) == []


# --- rounds -------------------------------------------------------------------------------


def present_of(*users: UUID) -> list[tuple[UUID, UUID]]:
    return [(user, AGENCY_OF[user]) for user in users]


def test_round_queues_every_present_agency_once_in_join_order() -> None:
    present = present_of(TEACHER, NURSE, MUM, HV2, DAD, OFFICER)
    picks = round_hands(present, [], [], ITEM_A)
    assert picks == present_of(TEACHER, NURSE, MUM, OFFICER)


def test_round_picks_the_member_who_has_spoken_least() -> None:
    turns = [turn(NURSE, 0, 60, item=ITEM_B), turn(HV2, 60, 70, item=ITEM_B)]
    picks = round_hands(present_of(NURSE, HV2), [], turns, ITEM_A)
    assert picks == present_of(HV2)


def test_round_breaks_equal_time_by_join_order() -> None:
    turns = [turn(MUM, 0, 30, item=ITEM_B), turn(DAD, 30, 60, item=ITEM_B)]
    assert round_hands(present_of(DAD, MUM), [], turns, ITEM_A) == present_of(DAD)
    assert round_hands(present_of(MUM, DAD), [], turns, ITEM_A) == present_of(MUM)


def test_round_prefers_a_member_not_yet_heard_on_the_item() -> None:
    # HV2 has less time overall but has already spoken on this item; the nurse has not.
    turns = [turn(NURSE, 0, 300, item=ITEM_B), turn(HV2, 300, 310, item=ITEM_A)]
    assert round_hands(present_of(HV2, NURSE), [], turns, ITEM_A) == present_of(NURSE)


def test_round_counts_an_open_turn_up_to_now() -> None:
    turns = [turn(NURSE, 0, 100, item=ITEM_B), turn(HV2, 100, None, item=ITEM_B)]
    present = present_of(HV2, NURSE)
    assert round_hands(present, [], turns, ITEM_A, now=at(150)) == present_of(HV2)
    assert round_hands(present, [], turns, ITEM_A, now=at(250)) == present_of(NURSE)


def test_round_without_now_counts_open_turn_to_latest_known_instant() -> None:
    turns = [
        turn(NURSE, 0, 100, item=ITEM_B),
        turn(HV2, 100, None, item=ITEM_B),
        turn(TEACHER, 200, 260, item=ITEM_B),  # so HV2 has spoken at least 160 s
    ]
    assert round_hands(present_of(HV2, NURSE), [], turns, ITEM_A) == present_of(NURSE)


@pytest.mark.parametrize("kind", list(HandKind))
def test_round_skips_an_agency_with_any_hand_up(kind: HandKind) -> None:
    hands = [hand(HV2, kind, reply_to=uid(900))]
    picks = round_hands(present_of(NURSE, TEACHER, HV2), hands, [], ITEM_A)
    assert picks == present_of(TEACHER)


def test_round_of_no_one_is_empty() -> None:
    assert round_hands([], [], [], ITEM_A) == []


# --- properties ---------------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None)

POOL = [NURSE, HV2, TEACHER, SOCIAL_WORKER, OFFICER, MUM, DAD]
TURN_IDS = [uid(600 + i) for i in range(6)]
PROP_NOW = at(2000)


@st.composite
def turns_strategy(draw: st.DrawFn) -> list[Turn]:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(POOL),
                st.sampled_from([ITEM_A, ITEM_B, None]),
                st.integers(0, 1500),
                st.one_of(st.none(), st.integers(-5, 120)),
            ),
            max_size=len(TURN_IDS),
        )
    )
    return [
        turn(user, start, None if length is None else start + length, item=item, turn_id=tid)
        for (user, item, start, length), tid in zip(rows, TURN_IDS, strict=False)
    ]


@st.composite
def hand_strategy(draw: st.DrawFn) -> Hand:
    moved = draw(st.booleans())
    return hand(
        draw(st.sampled_from(POOL)),
        draw(st.sampled_from(list(HandKind))),
        raised=draw(st.integers(0, 4)),
        hand_id=uid(draw(st.integers(1, 10_000))),
        reply_to=draw(st.one_of(st.none(), st.sampled_from(TURN_IDS))),
        pinned=draw(st.integers(-1, 8)) if moved else None,
        moved=draw(st.one_of(st.none(), st.integers(0, 3))) if moved else None,
    )


hands_strategy = st.lists(hand_strategy(), max_size=12, unique_by=(lambda h: h.id, lambda h: (h.user_id, h.kind)))
unpinned_hands_strategy = hands_strategy.map(
    lambda hs: [dataclasses.replace(h, pinned_position=None, moved_at=None) for h in hs]
)
item_strategy = st.sampled_from([ITEM_A, ITEM_B, None])
current_strategy = st.sampled_from([*TURN_IDS, None, uid(999)])


def duration(t: Turn) -> timedelta:
    end = PROP_NOW if t.ended_at is None else t.ended_at
    return max(end - t.started_at, timedelta(0))


def heard_on(turns: Sequence[Turn], item: UUID | None) -> set[UUID]:
    return {t.user_id for t in turns if item is not None and t.agenda_item_id == item}


def is_live_reply(h: Hand, current: UUID | None) -> bool:
    return h.kind is REPLY and current is not None and h.reply_to_turn_id == current


def reference_key(h: Hand, turns: Sequence[Turn], item: UUID | None, current: UUID | None) -> tuple[object, ...]:
    """The documented order, recomputed naively from the turns for every hand."""
    if h.kind is POO:
        return (0, h.raised_at, h.id)
    if is_live_reply(h, current):
        return (1, h.raised_at, h.id)
    agency_time = sum((duration(t) for t in turns if t.agency_id == h.agency_id), timedelta())
    user_time = sum((duration(t) for t in turns if t.user_id == h.user_id), timedelta())
    heard = h.user_id in heard_on(turns, item)
    return (2, heard, agency_time, user_time, h.raised_at, h.id)


def run(hands: Iterable[Hand], turns: Sequence[Turn], item: UUID | None, cur: UUID | None) -> list[Hand]:
    return order_queue(hands, turns, open_item_id=item, current_turn_id=cur, now=PROP_NOW)


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy, st.data())
def test_order_does_not_depend_on_input_order(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(hands))
    assert run(shuffled, turns, item, cur) == run(hands, turns, item, cur)


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_order_is_a_permutation_of_the_hands(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None
) -> None:
    assert Counter(run(iter(hands), turns, item, cur)) == Counter(hands)


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_unmoved_hands_follow_the_documented_rules(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None
) -> None:
    unmoved = [h for h in run(hands, turns, item, cur) if h.pinned_position is None]
    assert unmoved == sorted(unmoved, key=lambda h: reference_key(h, turns, item, cur))


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_points_of_order_precede_every_unmoved_other_hand(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None
) -> None:
    queue = [h for h in run(hands, turns, item, cur) if h.pinned_position is None]
    kinds = [h.kind is POO for h in queue]
    assert kinds == sorted(kinds, reverse=True)


@FAST
@given(unpinned_hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_live_replies_precede_contributions_and_stale_replies(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None
) -> None:
    queue = [h for h in run(hands, turns, item, cur) if h.kind is not POO]
    live = [is_live_reply(h, cur) for h in queue]
    assert live == sorted(live, reverse=True)


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_unheard_contributions_precede_heard_ones(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None
) -> None:
    heard = heard_on(turns, item)
    contributions = [
        h
        for h in run(hands, turns, item, cur)
        if h.pinned_position is None and h.kind is not POO and not is_live_reply(h, cur)
    ]
    flags = [h.user_id in heard for h in contributions]
    assert flags == sorted(flags)


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_moved_hands_sit_where_the_chair_put_them(
    hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None
) -> None:
    queue = run(hands, turns, item, cur)
    moved = [h for h in hands if h.pinned_position is not None]
    unmoved = [h for h in hands if h.pinned_position is None]
    # Undo the moves, latest first: each moved hand must be at its clamped position in the
    # queue as it stood right after it was placed.
    latest_first = sorted(
        moved,
        key=lambda h: (h.moved_at is not None, h.moved_at or h.raised_at, h.id),
        reverse=True,
    )
    for h in latest_first:
        assert h.pinned_position is not None
        assert queue.index(h) == min(max(h.pinned_position, 0), len(queue) - 1)
        queue.remove(h)
    assert queue == run(unmoved, turns, item, cur)


@FAST
@given(hands_strategy, st.integers(0, 20))
def test_a_single_moved_hand_sits_at_its_position_clamped(hands: list[Hand], position: int) -> None:
    unmoved = [dataclasses.replace(h, pinned_position=None) for h in hands]
    moved = hand(MUM, raised=0, hand_id=uid(99_999), pinned=position, moved=1)
    queue = run([*unmoved, moved], [], ITEM_A, None)
    assert queue.index(moved) == min(position, len(unmoved))


@FAST
@given(hands_strategy, turns_strategy(), item_strategy, current_strategy)
def test_next_speaker_is_head(hands: list[Hand], turns: list[Turn], item: UUID | None, cur: UUID | None) -> None:
    queue = run(hands, turns, item, cur)
    assert next_speaker(queue) == (queue[0] if queue else None)


@FAST
@given(hands_strategy, st.sampled_from(POOL), st.sampled_from(list(HandKind)))
def test_may_raise_exactly_when_no_hand_of_that_kind(hands: list[Hand], user: UUID, kind: HandKind) -> None:
    expected = all(not (h.user_id == user and h.kind is kind) for h in hands)
    assert may_raise(hands, user, kind) is expected
    if expected:
        assert not may_raise([*hands, hand(user, kind, hand_id=uid(99_999))], user, kind)


@FAST
@given(turns_strategy(), st.integers(0, 3000), st.integers(0, 600))
def test_speaking_seconds_is_consistent_and_grows_with_time(turns: list[Turn], offset: int, later: int) -> None:
    now = at(offset)
    time = speaking_seconds(turns, now)
    after = speaking_seconds(turns, now + timedelta(seconds=later))
    assert math.isclose(sum(time.by_agency.values()), sum(time.by_user.values()), abs_tol=1e-6)
    assert all(v >= 0 for v in [*time.by_agency.values(), *time.by_user.values()])
    assert all(after.by_user[u] >= s for u, s in time.by_user.items())
    assert set(time.by_user) == {t.user_id for t in turns}


present_strategy = st.lists(st.sampled_from(POOL), unique=True).map(lambda us: present_of(*us))


@FAST
@given(st.lists(st.sampled_from(POOL), unique=True), turns_strategy(), item_strategy)
def test_not_yet_heard_is_exactly_the_silent_present_agencies(
    users: list[UUID], turns: list[Turn], item: UUID | None
) -> None:
    present = [AGENCY_OF[u] for u in users]
    result = not_yet_heard(present, turns, item)
    heard_agencies = {AGENCY_OF[u] for u in heard_on(turns, item)}
    silent = [a for a in dict.fromkeys(present) if a not in heard_agencies]
    expected = [] if item is None else silent
    assert result == expected


@FAST
@given(present_strategy, hands_strategy, turns_strategy(), item_strategy)
def test_round_covers_each_agency_without_a_hand_exactly_once(
    present: list[tuple[UUID, UUID]],
    hands: list[Hand],
    turns: list[Turn],
    item: UUID | None,
) -> None:
    picks = round_hands(present, hands, turns, item, now=PROP_NOW)
    with_hand = {h.agency_id for h in hands}
    agencies = [agency for _, agency in picks]
    assert len(agencies) == len(set(agencies))
    assert not set(agencies) & with_hand
    assert set(agencies) == {agency for _, agency in present} - with_hand
    assert all(pick in present for pick in picks)
    assert all(may_raise(hands, user, CONTRIB) for user, _ in picks)


@FAST
@given(present_strategy, turns_strategy(), item_strategy)
def test_round_picks_the_least_heard_member_of_each_agency(
    present: list[tuple[UUID, UUID]], turns: list[Turn], item: UUID | None
) -> None:
    heard = heard_on(turns, item)

    def pick_key(user: UUID) -> tuple[bool, timedelta, int]:
        spoken = sum((duration(t) for t in turns if t.user_id == user), timedelta())
        return (user in heard, spoken, present.index((user, AGENCY_OF[user])))

    for user, agency in round_hands(present, [], turns, item, now=PROP_NOW):
        members = [u for u, a in present if a == agency]
        assert user == min(members, key=pick_key)
