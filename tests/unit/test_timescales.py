"""The statutory timescales: one example per rule, then properties over random meeting histories."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.actions.chase import ChaseSettings, is_working_day
from server.cases.timescales import (
    ChaseStage,
    MeetingFacts,
    Milestone,
    MilestoneKind,
    MilestoneState,
    TimescaleSettings,
    add_months,
    chase_stage,
    milestones,
    next_needed,
    to_working_day,
)

LONDON = ZoneInfo("Europe/London")
DEFAULT = TimescaleSettings()
# June 2025: Monday 2nd ... Friday 6th
MON = date(2025, 6, 2)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def held(kind: str, day: date, plan: bool | None = None) -> MeetingFacts:
    return MeetingFacts(uuid4(), kind, "ended", at(day), at(day, 12), plan)


def scheduled(kind: str, day: date) -> MeetingFacts:
    return MeetingFacts(uuid4(), kind, "scheduled", at(day))


def only(found: list[Milestone], kind: MilestoneKind) -> list[Milestone]:
    return [m for m in found if m.kind is kind]


def test_initial_conference_fifteen_working_days_after_the_strategy_discussion() -> None:
    found = milestones([held("strategy", MON)], MON, DEFAULT)
    assert [(m.kind, m.due_on, m.meeting_id, m.state) for m in found] == [
        (MilestoneKind.INITIAL_CONFERENCE, date(2025, 6, 23), None, MilestoneState.UPCOMING)
    ]


def test_bank_holidays_push_working_day_counts() -> None:
    calendar = ChaseSettings(bank_holidays=frozenset({date(2025, 6, 9)}))
    found = milestones([held("strategy", MON)], MON, TimescaleSettings(calendar=calendar))
    assert found[0].due_on == date(2025, 6, 24)


def test_a_strategy_ended_late_evening_utc_counts_on_its_local_date() -> None:
    # 23:30 UTC on Friday 6 June is 00:30 on Saturday in London: the clock starts on Saturday.
    strategy = MeetingFacts(
        uuid4(), "strategy", "ended", at(date(2025, 6, 6)), datetime(2025, 6, 6, 23, 30, tzinfo=ZoneInfo("UTC"))
    )
    assert milestones([strategy], MON, DEFAULT)[0].due_on == date(2025, 6, 27)


def test_met_met_late_and_the_meeting_that_meets_it() -> None:
    strategy = held("strategy", MON)
    on_time = held("initial_conference", date(2025, 6, 20), plan=False)
    late = held("initial_conference", date(2025, 6, 24), plan=False)
    assert milestones([strategy, on_time], date(2025, 7, 1), DEFAULT)[0].state is MilestoneState.MET
    result = milestones([strategy, late], date(2025, 7, 1), DEFAULT)[0]
    assert (result.state, result.meeting_id, result.held_on) == (MilestoneState.MET_LATE, late.id, date(2025, 6, 24))


def test_a_scheduled_meeting_is_named_but_does_not_meet_it() -> None:
    strategy, icpc = held("strategy", MON), scheduled("initial_conference", date(2025, 6, 20))
    found = milestones([strategy, icpc], date(2025, 6, 18), DEFAULT)[0]
    assert (found.meeting_id, found.held_on, found.state) == (icpc.id, None, MilestoneState.DUE_SOON)


def test_states_by_today() -> None:
    strategy = [held("strategy", MON)]  # due Monday 23 June
    assert milestones(strategy, date(2025, 6, 13), DEFAULT)[0].state is MilestoneState.UPCOMING
    assert milestones(strategy, date(2025, 6, 16), DEFAULT)[0].state is MilestoneState.DUE_SOON  # 5 working days
    assert milestones(strategy, date(2025, 6, 23), DEFAULT)[0].state is MilestoneState.DUE_SOON
    assert milestones(strategy, date(2025, 6, 24), DEFAULT)[0].state is MilestoneState.OVERDUE


def test_a_plan_starts_core_groups_and_reviews() -> None:
    icpc = held("initial_conference", MON, plan=True)
    found = milestones([icpc], MON, DEFAULT)
    assert [(m.kind, m.due_on) for m in found] == [
        (MilestoneKind.CORE_GROUP, date(2025, 6, 16)),
        (MilestoneKind.REVIEW_CONFERENCE, date(2025, 9, 2)),
    ]


def test_no_plan_and_no_outcome_start_nothing() -> None:
    assert milestones([held("initial_conference", MON, plan=False)], MON, DEFAULT) == []
    assert milestones([held("initial_conference", MON)], MON, DEFAULT) == []


def test_core_groups_every_six_weeks_and_reviews_every_six_months() -> None:
    history = [
        held("initial_conference", MON, plan=True),
        held("core_group", date(2025, 6, 12)),
        held("review_conference", date(2025, 8, 29), plan=True),
    ]
    found = milestones(history, date(2025, 9, 1), DEFAULT)
    core = only(found, MilestoneKind.CORE_GROUP)
    assert [(m.due_on, m.state) for m in core] == [
        (date(2025, 6, 16), MilestoneState.MET),
        (date(2025, 7, 24), MilestoneState.OVERDUE),
    ]
    reviews = only(found, MilestoneKind.REVIEW_CONFERENCE)
    assert [(m.due_on, m.state) for m in reviews] == [
        (date(2025, 9, 2), MilestoneState.MET),
        (date(2026, 2, 27), MilestoneState.UPCOMING),  # 28 Feb 2026 is a Saturday
    ]


def test_a_review_without_a_plan_ends_the_plan() -> None:
    history = [
        held("initial_conference", MON, plan=True),
        held("review_conference", date(2025, 8, 29), plan=False),
    ]
    found = milestones(history, date(2026, 6, 1), DEFAULT)
    assert [(m.kind, m.state) for m in found] == [(MilestoneKind.REVIEW_CONFERENCE, MilestoneState.MET)]


def test_cancelled_meetings_are_ignored() -> None:
    strategy = held("strategy", MON)
    cancelled = MeetingFacts(uuid4(), "initial_conference", "cancelled", at(date(2025, 6, 10)))
    assert milestones([strategy, cancelled], MON, DEFAULT)[0].meeting_id is None


def test_tac_review_six_weeks_on_a_working_day() -> None:
    calendar = ChaseSettings(bank_holidays=frozenset({date(2025, 7, 14)}))
    found = milestones([held("tac", MON)], MON, TimescaleSettings(calendar=calendar, tac_review_weeks=6))
    assert found[0].due_on == date(2025, 7, 11)  # Monday 14 July is a bank holiday here
    assert milestones([held("tac", MON)], MON, TimescaleSettings(tac_review_weeks=4))[0].due_on == date(2025, 6, 30)


def test_months_and_working_day_helpers() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert to_working_day(date(2025, 6, 8), ChaseSettings()) == date(2025, 6, 6)


def test_next_needed_and_the_chase_stage() -> None:
    found = milestones([held("strategy", MON)], date(2025, 6, 17), DEFAULT)
    assert next_needed(found) == found[0]
    assert chase_stage(found[0]) is ChaseStage.DUE_SOON
    scheduled_icpc = milestones(
        [held("strategy", MON), scheduled("initial_conference", date(2025, 6, 20))], date(2025, 6, 17), DEFAULT
    )
    assert next_needed(scheduled_icpc) is None
    assert chase_stage(scheduled_icpc[0]) is None
    late = milestones([held("strategy", MON)], date(2025, 6, 30), DEFAULT)
    assert chase_stage(late[0]) is ChaseStage.OVERDUE


# --- properties ----------------------------------------------------------------------------

KINDS = ("strategy", "initial_conference", "core_group", "review_conference", "tac", "other")
START = date(2025, 1, 1)


@st.composite
def histories(draw: st.DrawFn) -> list[MeetingFacts]:
    count = draw(st.integers(0, 8))
    found = []
    for index in range(count):
        day = START + timedelta(days=draw(st.integers(0, 500)))
        kind = draw(st.sampled_from(KINDS))
        status = draw(st.sampled_from(("ended", "ended", "scheduled", "cancelled")))
        plan = draw(st.sampled_from((True, False, None))) if "conference" in kind else None
        ended = at(day, draw(st.integers(0, 23))) if status == "ended" else None
        found.append(MeetingFacts(UUID(int=index + 1), kind, status, at(day), ended, plan))
    return found


holidays = st.frozensets(st.dates(START, START + timedelta(days=900)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(histories(), st.dates(START, START + timedelta(days=900)), holidays)
def test_a_due_date_is_never_on_a_weekend_or_bank_holiday(
    history: list[MeetingFacts], today: date, bank: frozenset[date]
) -> None:
    rules = TimescaleSettings(calendar=ChaseSettings(bank_holidays=bank))
    for milestone in milestones(history, today, rules):
        assert is_working_day(milestone.due_on, rules.calendar)


@settings(max_examples=300, deadline=None)
@given(histories(), st.dates(START, START + timedelta(days=900)), st.integers(1, 2000))
def test_a_met_milestone_never_turns_overdue(history: list[MeetingFacts], today: date, later: int) -> None:
    before = {(m.kind, m.due_on): m for m in milestones(history, today, DEFAULT)}
    after = {(m.kind, m.due_on): m for m in milestones(history, today + timedelta(days=later), DEFAULT)}
    for key, milestone in before.items():
        if not milestone.is_open:
            assert after[key].state is milestone.state


@settings(max_examples=300, deadline=None)
@given(histories(), st.dates(START, START + timedelta(days=900)))
def test_states_agree_with_the_dates(history: list[MeetingFacts], today: date) -> None:
    for milestone in milestones(history, today, DEFAULT):
        if milestone.held_on is not None:
            assert milestone.state is (
                MilestoneState.MET if milestone.held_on <= milestone.due_on else MilestoneState.MET_LATE
            )
        elif milestone.state is MilestoneState.OVERDUE:
            assert today > milestone.due_on
        else:
            assert today <= milestone.due_on
        if milestone.meeting_id is not None:
            meeting = next(m for m in history if m.id == milestone.meeting_id)
            assert meeting.status != "cancelled"
            assert meeting.kind == milestone.meeting_kind
