"""Statutory timescales: which meeting a case needs next, by when, and whether it was held in time.

Working Together to Safeguard Children fixes the dates; this module is a pure function of the
case's meeting history, the conference outcomes, today and the settings, so that it can be tested
exhaustively and the case page, the API, the chase and the insights all give the same answer.
It uses the chase's calendar (:mod:`server.actions.chase`: working days skip weekends and
ROUNDTABLE_BANK_HOLIDAYS, local dates are those of ROUNDTABLE_TIMEZONE), so a milestone and an
action are never due on different notions of a working day.

The rules (API.md "Statutory timescales"):

* ``initial_conference``: 15 working days after a ``strategy`` meeting ended.
* ``core_group``: 10 working days after an initial conference whose outcome is a plan, then
  ``core_group_weeks`` after each core group held while the plan lasts.
* ``review_conference``: 3 months after the initial conference that made the plan, then 6 months
  after each review conference that keeps it.
* ``tac_review``: ``tac_review_weeks`` after each ``tac`` meeting ended.

Decisions, so that the rest of the app can rely on them:

* **A due date is always a working day.** Dates counted in weeks or months that land on a
  weekend or bank holiday move back to the working day before: "within" never grows.
* **The meeting that meets a milestone** is the next meeting of its kind (not cancelled)
  scheduled after the meeting that started the clock. Its end date is ``held_on``; held on or
  before the due date is ``met``, after it ``met_late``. A held milestone's state depends on
  nothing else, so a met milestone never turns overdue, whatever today is.
* **Due soon** is within ``due_soon_working_days`` working days (5: the due date is at most five
  working days after today, or today); **overdue** from the day after the due date.
* **A plan ends** with a review conference whose outcome says no plan; a later initial
  conference with a plan starts a new one. Milestones not held when the plan ended are dropped
  (nobody owes a core group to a plan that no longer exists). An initial conference without a
  recorded outcome with a plan starts no core group and no review.
* A month after the 31st is the last day of the shorter month (31 January + 1 month = 28 or 29
  February).
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from server.actions.chase import ChaseSettings, add_working_days, is_working_day, working_days_between
from server.platform.labelled import Labelled

__all__ = [
    "ChaseStage",
    "MeetingFacts",
    "Milestone",
    "MilestoneKind",
    "MilestoneState",
    "TimescaleSettings",
    "chase_stage",
    "milestones",
    "next_needed",
    "to_working_day",
]


class MilestoneKind(Labelled):
    """The meetings the guidance sets a date for, each met by the next meeting of one kind
    (``MEETING_KIND``). The value names the milestone in the API and in the chase ledger."""

    INITIAL_CONFERENCE = "initial_conference", "Initial child protection conference"
    CORE_GROUP = "core_group", "Core group meeting"
    REVIEW_CONFERENCE = "review_conference", "Review child protection conference"
    TAC_REVIEW = "tac_review", "Team Around the Child review"


class MilestoneState(Labelled):
    """Where a milestone stands today: what the case page flags and the chase acts on."""

    UPCOMING = "upcoming", "Upcoming"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    MET = "met", "Met"
    MET_LATE = "met_late", "Met late"


HELD_STATES = frozenset({MilestoneState.MET, MilestoneState.MET_LATE})

# The meeting kind that meets each milestone (the values are MeetingKind values).
MEETING_KIND = {
    MilestoneKind.INITIAL_CONFERENCE: "initial_conference",
    MilestoneKind.CORE_GROUP: "core_group",
    MilestoneKind.REVIEW_CONFERENCE: "review_conference",
    MilestoneKind.TAC_REVIEW: "tac",
}


@dataclass(frozen=True, slots=True)
class TimescaleSettings:
    """The intervals of the rules above: the statutory ones as the guidance fixes them, the core
    group and Team Around the Child rhythm as the partnership sets it (ROUNDTABLE_CORE_GROUP_WEEKS,
    ROUNDTABLE_TAC_REVIEW_WEEKS), over the chase's calendar."""

    calendar: ChaseSettings = field(default_factory=ChaseSettings)
    core_group_weeks: int = 6
    tac_review_weeks: int = 6
    due_soon_working_days: int = 5
    initial_conference_working_days: int = 15
    first_core_group_working_days: int = 10
    first_review_months: int = 3
    later_review_months: int = 6

    def __post_init__(self) -> None:
        for name in ("core_group_weeks", "tac_review_weeks", "first_review_months", "later_review_months"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    """One meeting of the case as the rules need it. ``plan`` is the conference outcome's plan
    (None when no outcome is recorded, or for other kinds)."""

    id: uuid.UUID
    kind: str
    status: str
    scheduled_at: datetime
    ended_at: datetime | None = None
    plan: bool | None = None

    @property
    def held(self) -> bool:
        return self.status == "ended" and self.ended_at is not None


@dataclass(frozen=True, slots=True)
class Milestone:
    """One date the case must meet, with the meeting that meets it (if one is scheduled yet)."""

    kind: MilestoneKind
    due_on: date
    meeting_id: uuid.UUID | None
    held_on: date | None
    state: MilestoneState

    @property
    def is_open(self) -> bool:
        return self.state not in HELD_STATES

    @property
    def meeting_kind(self) -> str:
        return MEETING_KIND[self.kind]


def to_working_day(day: date, calendar: ChaseSettings) -> date:
    """``day`` itself when it is a working day, else the working day before it."""
    while not is_working_day(day, calendar):
        day -= timedelta(days=1)
    return day


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def state_of(due_on: date, held_on: date | None, today: date, settings: TimescaleSettings) -> MilestoneState:
    if held_on is not None:
        return MilestoneState.MET if held_on <= due_on else MilestoneState.MET_LATE
    if today > due_on:
        return MilestoneState.OVERDUE
    if working_days_between(today, due_on, settings.calendar) <= settings.due_soon_working_days:
        return MilestoneState.DUE_SOON
    return MilestoneState.UPCOMING


def milestones(meetings: Sequence[MeetingFacts], today: date, settings: TimescaleSettings) -> list[Milestone]:
    """Every milestone of the case, met ones included, ordered by due date."""
    zone = ZoneInfo(settings.calendar.timezone)
    ordered = sorted((m for m in meetings if m.status != "cancelled"), key=lambda m: (m.scheduled_at, str(m.id)))
    found = [
        *_initial_conferences(ordered, zone, settings),
        *_plans(ordered, zone, settings),
        *_tac_reviews(ordered, zone, settings),
    ]
    result = [
        Milestone(kind, due, meeting.id if meeting else None, held, state_of(due, held, today, settings))
        for kind, due, meeting, held in found
    ]
    return sorted(result, key=lambda m: (m.due_on, m.kind))


_Found = tuple[MilestoneKind, date, MeetingFacts | None, date | None]


def _local(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _ended_on(meeting: MeetingFacts, zone: ZoneInfo) -> date:
    assert meeting.ended_at is not None
    return _local(meeting.ended_at, zone)


def _next(ordered: Sequence[MeetingFacts], after: MeetingFacts, kind: str) -> MeetingFacts | None:
    """The next meeting of ``kind`` scheduled after ``after``."""
    start = ordered.index(after) + 1
    return next((m for m in ordered[start:] if m.kind == kind), None)


def _met_by(meeting: MeetingFacts | None, zone: ZoneInfo) -> date | None:
    return _ended_on(meeting, zone) if meeting is not None and meeting.held else None


def _initial_conferences(
    ordered: Sequence[MeetingFacts], zone: ZoneInfo, settings: TimescaleSettings
) -> Iterator[_Found]:
    for strategy in ordered:
        if strategy.kind == "strategy" and strategy.held:
            due = add_working_days(
                _ended_on(strategy, zone), settings.initial_conference_working_days, settings.calendar
            )
            meeting = _next(ordered, strategy, "initial_conference")
            yield MilestoneKind.INITIAL_CONFERENCE, due, meeting, _met_by(meeting, zone)


def _tac_reviews(ordered: Sequence[MeetingFacts], zone: ZoneInfo, settings: TimescaleSettings) -> Iterator[_Found]:
    for tac in ordered:
        if tac.kind == "tac" and tac.held:
            due = to_working_day(_ended_on(tac, zone) + timedelta(weeks=settings.tac_review_weeks), settings.calendar)
            meeting = _next(ordered, tac, "tac")
            yield MilestoneKind.TAC_REVIEW, due, meeting, _met_by(meeting, zone)


def _plans(ordered: Sequence[MeetingFacts], zone: ZoneInfo, settings: TimescaleSettings) -> Iterator[_Found]:
    """Each plan runs from an initial conference with a plan to the review that ends it (or the
    next initial conference); its core groups and reviews are chained within that window."""
    starts = [i for i, m in enumerate(ordered) if m.kind == "initial_conference" and m.held and m.plan is True]
    for start in starts:
        end = len(ordered)
        for j in range(start + 1, len(ordered)):
            later = ordered[j]
            if later.held and (
                later.kind == "initial_conference" or (later.kind == "review_conference" and later.plan is False)
            ):
                end = j + 1 if later.kind == "review_conference" else j
                break
        window = ordered[start:end]
        ended = end < len(ordered) or (window[-1].kind == "review_conference" and window[-1].plan is False)
        yield from _chain(window, MilestoneKind.CORE_GROUP, zone, settings, plan_ended=ended)
        yield from _chain(window, MilestoneKind.REVIEW_CONFERENCE, zone, settings, plan_ended=ended)


def _chain(
    window: Sequence[MeetingFacts],
    kind: MilestoneKind,
    zone: ZoneInfo,
    settings: TimescaleSettings,
    *,
    plan_ended: bool,
) -> Iterator[_Found]:
    calendar = settings.calendar
    trigger = window[0]
    while True:
        held = _ended_on(trigger, zone)
        first = trigger is window[0]
        if kind is MilestoneKind.CORE_GROUP:
            due = (
                add_working_days(held, settings.first_core_group_working_days, calendar)
                if first
                else to_working_day(held + timedelta(weeks=settings.core_group_weeks), calendar)
            )
        else:
            months = settings.first_review_months if first else settings.later_review_months
            due = to_working_day(add_months(held, months), calendar)
        meeting = _next(window, trigger, MEETING_KIND[kind])
        met = _met_by(meeting, zone)
        if met is None:
            if not plan_ended:
                yield kind, due, meeting, None
            return
        assert meeting is not None
        yield kind, due, meeting, met
        if kind is MilestoneKind.REVIEW_CONFERENCE and meeting.plan is False:
            return
        trigger = meeting


def next_needed(found: Sequence[Milestone]) -> Milestone | None:
    """The open milestone that no meeting is scheduled for yet, earliest first: what the chair's
    "schedule the next meeting" form proposes."""
    return next((m for m in found if m.is_open and m.meeting_id is None), None)


class ChaseStage(StrEnum):
    """What the chase owes a milestone: each stage is told once (a row in the chase ledger)."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def chase_stage(milestone: Milestone) -> ChaseStage | None:
    """What the chase owes a milestone now: a reminder when it is due soon and no meeting is
    scheduled for it, an escalation when it is overdue (scheduled or not: it is late)."""
    if milestone.state is MilestoneState.OVERDUE:
        return ChaseStage.OVERDUE
    if milestone.state is MilestoneState.DUE_SOON and milestone.meeting_id is None:
        return ChaseStage.DUE_SOON
    return None


def ledger_subject(case_id: uuid.UUID, milestone: Milestone) -> str:
    """The chase ledger's name for one milestone; a new due date is a new milestone."""
    return f"timescale:{case_id}:{milestone.kind}:{milestone.due_on.isoformat()}"
