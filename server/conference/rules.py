"""The conference's rules, pure: what makes an outcome valid, what counts as dissent, which
scores a person may see, and the spread of a revealed scale.

Nothing here does I/O, so the room's operations, the views and the minutes share one answer and
the tests can try every case."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from server.conference.models import Category, View
from server.meetings.models import MeetingKind

CONFERENCE_KINDS = frozenset({MeetingKind.INITIAL_CONFERENCE, MeetingKind.REVIEW_CONFERENCE})
CHILD_VOICE_KINDS = CONFERENCE_KINDS | {MeetingKind.TAC}  # the child's voice is an agenda item of these
CHILD_VOICE_TITLE = "The child's voice: their words, wishes and feelings"
LOWEST, HIGHEST = 0, 10


class OutcomeProblem(ValueError):
    """An outcome that cannot be recorded; ``field`` and ``code`` say which part and why."""

    def __init__(self, message: str, field: str, code: str) -> None:
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


@dataclass(frozen=True, slots=True)
class AgencyView:
    agency_id: uuid.UUID
    view: str
    reason: str


def decision_view(plan: bool) -> str:
    return View.PLAN if plan else View.NO_PLAN


def is_dissent(plan: bool, view: str) -> bool:
    """A view is dissent when it differs from what the conference decided."""
    return view != decision_view(plan)


def check_outcome(
    plan: bool, categories: Sequence[str], reasons: str, views: Sequence[AgencyView], team: Iterable[uuid.UUID]
) -> list[str]:
    """The categories, cleaned and in a fixed order; raises OutcomeProblem on the first problem."""
    known = {c.value for c in Category}
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise OutcomeProblem(
            "Each category must be neglect, physical_abuse, emotional_abuse or sexual_abuse.",
            "category",
            "unknown_category",
        )
    chosen = [c.value for c in Category if c.value in categories]
    if plan and not chosen:
        raise OutcomeProblem("A child protection plan needs its category.", "category", "category_missing")
    if not plan and chosen:
        raise OutcomeProblem("A category belongs only to a child protection plan.", "category", "category_without_plan")
    if not reasons.strip():
        raise OutcomeProblem("Give the reasons for the decision.", "reasons", "reasons_missing")
    allowed, seen = set(team), set()
    for each in views:
        if each.view not in (View.PLAN, View.NO_PLAN):
            raise OutcomeProblem("Each agency's view must be plan or no_plan.", "views", "unknown_view")
        if each.agency_id in seen:
            raise OutcomeProblem("Give one view for each agency.", "views", "duplicate_view")
        if each.agency_id not in allowed:
            raise OutcomeProblem("Views can only be given for agencies on the case's team.", "views", "not_on_team")
        if is_dissent(plan, each.view) and not each.reason.strip():
            raise OutcomeProblem(
                "A view that differs from the decision is dissent: give its reason.", "views", "dissent_without_reason"
            )
        seen.add(each.agency_id)
    return chosen


class Scored(Protocol):
    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def agency_id(self) -> uuid.UUID: ...

    @property
    def score(self) -> int: ...


S = TypeVar("S", bound=Scored)


def visible_scores(revealed: bool, scores: Sequence[S], viewer: uuid.UUID | None) -> list[S]:
    """Every score once revealed; before that only the viewer's own (none for a shared copy)."""
    if revealed:
        return list(scores)
    return [s for s in scores if viewer is not None and s.user_id == viewer]


def check_score(score: int) -> None:
    if not LOWEST <= score <= HIGHEST:
        raise OutcomeProblem("A score is a whole number from 0 to 10.", "score", "score_out_of_range")


@dataclass(frozen=True, slots=True)
class Spread:
    """One agency's (or everyone's) scores on a revealed question."""

    agency_id: uuid.UUID | None
    scores: tuple[int, ...]

    @property
    def low(self) -> int:
        return min(self.scores)

    @property
    def high(self) -> int:
        return max(self.scores)

    @property
    def mean(self) -> float:
        return round(sum(self.scores) / len(self.scores), 1)


def spread_by_agency(scores: Sequence[Scored]) -> list[Spread]:
    """Per agency, in the order each first scored."""
    grouped: dict[uuid.UUID, list[int]] = {}
    for s in scores:
        grouped.setdefault(s.agency_id, []).append(s.score)
    return [Spread(agency, tuple(values)) for agency, values in grouped.items()]


def overall(scores: Sequence[Scored]) -> Spread | None:
    return Spread(None, tuple(s.score for s in scores)) if scores else None
