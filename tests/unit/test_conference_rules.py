"""The conference's rules: scores stay hidden before the reveal whatever order people score in,
dissent is exactly a view that differs from the decision, an outcome is checked in full."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.conference.rules import (
    AgencyView,
    OutcomeProblem,
    check_outcome,
    is_dissent,
    overall,
    spread_by_agency,
    visible_scores,
)

PEOPLE = [uuid.UUID(int=i) for i in range(1, 7)]
AGENCIES = [uuid.UUID(int=100 + i) for i in range(3)]


@dataclass(frozen=True)
class Score:
    user_id: uuid.UUID
    agency_id: uuid.UUID
    score: int


scoring = st.lists(st.tuples(st.sampled_from(PEOPLE), st.integers(0, 10)), max_size=30)


def play(moves: list[tuple[uuid.UUID, int]]) -> list[Score]:
    """Each person's last score counts (a score is changeable until the reveal)."""
    latest: dict[uuid.UUID, int] = {}
    for person, value in moves:
        latest[person] = value
    return [Score(p, AGENCIES[PEOPLE.index(p) % 3], v) for p, v in latest.items()]


@given(scoring, st.sampled_from([*PEOPLE, None]))
def test_before_the_reveal_a_person_sees_only_their_own_score(
    moves: list[tuple[uuid.UUID, int]], viewer: uuid.UUID | None
) -> None:
    scores = play(moves)
    seen = visible_scores(False, scores, viewer)
    assert all(s.user_id == viewer for s in seen)
    assert len(seen) == (1 if viewer is not None and any(s.user_id == viewer for s in scores) else 0)


@given(scoring, st.sampled_from([*PEOPLE, None]))
def test_after_the_reveal_everyone_sees_every_score(
    moves: list[tuple[uuid.UUID, int]], viewer: uuid.UUID | None
) -> None:
    scores = play(moves)
    assert visible_scores(True, scores, viewer) == scores


@given(scoring)
def test_the_spread_per_agency_covers_every_score(moves: list[tuple[uuid.UUID, int]]) -> None:
    scores = play(moves)
    spreads = spread_by_agency(scores)
    assert sorted(v for s in spreads for v in s.scores) == sorted(s.score for s in scores)
    for spread in spreads:
        assert spread.low <= spread.mean <= spread.high
    whole = overall(scores)
    assert (whole is None) == (not scores)


@pytest.mark.parametrize("plan", [True, False])
@pytest.mark.parametrize("view", ["plan", "no_plan"])
def test_dissent_is_a_view_that_differs_from_the_decision(plan: bool, view: str) -> None:
    assert is_dissent(plan, view) is ((view == "plan") != plan)


TEAM = set(AGENCIES)


@pytest.mark.parametrize(
    ("plan", "categories", "reasons", "views", "code"),
    [
        (True, [], "Harm", [], "category_missing"),
        (False, ["neglect"], "Harm", [], "category_without_plan"),
        (True, ["hunger"], "Harm", [], "unknown_category"),
        (True, ["neglect"], "  ", [], "reasons_missing"),
        (True, ["neglect"], "Harm", [AgencyView(AGENCIES[0], "maybe", "")], "unknown_view"),
        (True, ["neglect"], "Harm", [AgencyView(AGENCIES[0], "no_plan", " ")], "dissent_without_reason"),
        (False, [], "Safe", [AgencyView(AGENCIES[0], "plan", "")], "dissent_without_reason"),
        (True, ["neglect"], "Harm", [AgencyView(uuid.uuid4(), "plan", "")], "not_on_team"),
        (
            True,
            ["neglect"],
            "Harm",
            [AgencyView(AGENCIES[0], "plan", ""), AgencyView(AGENCIES[0], "plan", "")],
            "duplicate_view",
        ),
    ],
)
def test_an_outcome_with_a_problem_is_refused_with_its_code(
    plan: bool, categories: list[str], reasons: str, views: list[AgencyView], code: str
) -> None:
    with pytest.raises(OutcomeProblem) as refused:
        check_outcome(plan, categories, reasons, views, TEAM)
    assert refused.value.code == code


def test_a_sound_outcome_keeps_its_categories_in_a_fixed_order() -> None:
    views = [AgencyView(AGENCIES[0], "plan", ""), AgencyView(AGENCIES[1], "no_plan", "Improving")]
    assert check_outcome(True, ["emotional_abuse", "neglect"], "Harm", views, TEAM) == ["neglect", "emotional_abuse"]
    assert check_outcome(False, [], "Safe now", [AgencyView(AGENCIES[2], "no_plan", "")], TEAM) == []
