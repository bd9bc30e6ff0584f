"""The chase schedule: examples for each rule, then properties over simulated worker runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.actions.chase import (
    CHASED_STATUSES,
    DUE_DATE_LEDGER_STAGES,
    EVENT_STATUSES,
    ActionFacts,
    ChaseSettings,
    Recipient,
    Reminder,
    Stage,
    add_working_days,
    due_reminders,
    earliest_due_date_to_scan,
    in_working_hours,
    is_working_day,
    parse_bank_holidays,
    working_days_between,
)

LONDON = ZoneInfo("Europe/London")
DEFAULT = ChaseSettings()
ACTION_ID = UUID("00000000-0000-0000-0000-00000000a001")
CLOSED_STATUSES = ("done", "cancelled", "not_achieved")

# June 2025: Monday 2nd ... Friday 6th, weekend 7th/8th, Monday 9th ...
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2025, 6, d) for d in range(2, 9))
NEXT_MON = date(2025, 6, 9)
SUMMER_BANK_HOLIDAY = date(2025, 8, 25)  # a Monday
WITH_HOLIDAY = ChaseSettings(bank_holidays=frozenset({SUMMER_BANK_HOLIDAY}))


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock moment in London, the default deployment's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def action(due: date, status: str = "open", **facts: object) -> ActionFacts:
    return ActionFacts(id=ACTION_ID, status=status, due_date=due, **facts)  # type: ignore[arg-type]


def stages(
    facts: ActionFacts,
    now: datetime,
    sent: tuple[tuple[str, int], ...] = (),
    cfg: ChaseSettings = DEFAULT,
) -> list[tuple[str, int, str]]:
    """The due reminders as plain (ledger stage, occurrence, recipient) triples."""
    return [(r.ledger_stage, r.occurrence, r.recipient.value) for r in due_reminders(facts, sent, now, cfg)]


# --- calendar ---------------------------------------------------------------------------


def test_weekends_are_not_working_days() -> None:
    assert [is_working_day(d, DEFAULT) for d in (MON, FRI, SAT, SUN)] == [True, True, False, False]


def test_a_bank_holiday_is_not_a_working_day() -> None:
    assert is_working_day(SUMMER_BANK_HOLIDAY, DEFAULT)
    assert not is_working_day(SUMMER_BANK_HOLIDAY, WITH_HOLIDAY)


def test_add_working_days_skips_the_weekend_both_ways() -> None:
    assert add_working_days(THU, 2, DEFAULT) == NEXT_MON
    assert add_working_days(NEXT_MON, -2, DEFAULT) == THU
    assert add_working_days(SAT, -1, DEFAULT) == FRI
    assert add_working_days(SAT, 1, DEFAULT) == NEXT_MON
    assert add_working_days(SAT, 0, DEFAULT) == SAT


def test_add_working_days_skips_a_bank_holiday() -> None:
    friday = date(2025, 8, 22)
    assert add_working_days(friday, 1, WITH_HOLIDAY) == date(2025, 8, 26)
    assert add_working_days(date(2025, 8, 26), -1, WITH_HOLIDAY) == friday


def test_working_days_between_counts_the_end_not_the_start() -> None:
    assert working_days_between(FRI, NEXT_MON, DEFAULT) == 1
    assert working_days_between(MON, FRI, DEFAULT) == 4
    assert working_days_between(FRI, FRI, DEFAULT) == 0
    assert working_days_between(NEXT_MON, FRI, DEFAULT) == -1
    assert working_days_between(date(2025, 8, 22), date(2025, 8, 26), WITH_HOLIDAY) == 1


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(MON, 8, 59), False),
        (at(MON, 9, 0), True),
        (at(MON, 16, 59), True),
        (at(MON, 17, 0), False),
        (at(SAT, 11), False),
        (at(SUMMER_BANK_HOLIDAY, 11), True),
    ],
)
def test_working_hours(now: datetime, expected: bool) -> None:
    assert in_working_hours(now, DEFAULT) is expected


def test_working_hours_follow_british_summer_time() -> None:
    # Clocks go forward on Sunday 30 March 2025: 08:30 UTC is 08:30 on the Friday before,
    # 09:30 on the Monday after.
    assert not in_working_hours(datetime(2025, 3, 28, 8, 30, tzinfo=UTC), DEFAULT)
    assert in_working_hours(datetime(2025, 3, 31, 8, 30, tzinfo=UTC), DEFAULT)
    assert not in_working_hours(datetime(2025, 3, 31, 16, 30, tzinfo=UTC), DEFAULT)
    # Clocks go back on Sunday 26 October 2025: 16:30 UTC is 16:30 on the Monday after.
    assert in_working_hours(datetime(2025, 10, 27, 16, 30, tzinfo=UTC), DEFAULT)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_working_hours(datetime(2025, 6, 2, 10), DEFAULT)


def test_parse_bank_holidays() -> None:
    assert parse_bank_holidays(" 2025-12-25, 2025-12-26 ,,") == {
        date(2025, 12, 25),
        date(2025, 12, 26),
    }
    assert parse_bank_holidays("") == frozenset()


def test_parse_bank_holidays_names_the_bad_item() -> None:
    with pytest.raises(ValueError, match="'2025-13-01'"):
        parse_bank_holidays("2025-12-25,2025-13-01")


@pytest.mark.parametrize(
    "bad",
    [
        {"lead_working_days": -1},
        {"overdue_repeat_days": 0},
        {"escalate_lead_after": 0},
        {"escalate_chair_after": 0},
        {"work_start": time(17), "work_end": time(9)},
        {"timezone": "Europe/Nowhere"},
    ],
)
def test_bad_settings_fail_early(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked where it matters
        ChaseSettings(**bad)  # type: ignore[arg-type]


# --- the owner's reminders --------------------------------------------------------------


def test_nothing_before_the_reminder_window() -> None:
    assert stages(action(NEXT_MON), at(WED)) == []


def test_before_due_two_working_days_ahead_across_a_weekend() -> None:
    assert stages(action(NEXT_MON), at(THU)) == [("before_due", 0, "owner")]


def test_due_today() -> None:
    assert stages(action(WED), at(WED), sent=(("before_due", 0),)) == [("due_today", 0, "owner")]


def test_a_missed_before_due_is_skipped_once_due_today_is_due() -> None:
    assert stages(action(WED), at(WED)) == [("due_today", 0, "owner")]


def test_due_on_a_saturday_is_flagged_on_the_friday() -> None:
    assert stages(action(SAT), at(THU)) == [("before_due", 0, "owner")]
    assert stages(action(SAT), at(FRI)) == [("due_today", 0, "owner")]


def test_first_overdue_working_day_after_a_friday_due_date_is_monday() -> None:
    assert stages(action(FRI), at(SAT)) == []
    assert stages(action(FRI), at(NEXT_MON), sent=(("due_today", 0),)) == [("overdue", 0, "owner")]


def test_first_overdue_day_skips_a_bank_holiday() -> None:
    friday = date(2025, 8, 22)
    assert stages(action(friday), at(SUMMER_BANK_HOLIDAY), cfg=WITH_HOLIDAY) == []
    assert stages(action(friday), at(date(2025, 8, 26)), cfg=WITH_HOLIDAY) == [("overdue", 0, "owner")]


def test_overdue_repeats_weekly_from_the_first_overdue_day() -> None:
    due = date(2025, 6, 5)  # Thursday; first overdue day Friday 6th
    sent = (("overdue", 0),)
    assert stages(action(due), at(date(2025, 6, 12)), sent) == [("escalate_lead", 0, "lead_professional")]
    repeat = [(s, o, w) for s, o, w in stages(action(due), at(date(2025, 6, 13)), sent) if w == "owner"]
    assert repeat == [("overdue", 1, "owner")]
    sent += (("overdue", 1),)
    owner = [(s, o) for s, o, w in stages(action(due), at(date(2025, 6, 20)), sent) if w == "owner"]
    assert owner == [("overdue", 2)]


def test_after_an_outage_only_the_latest_overdue_occurrence_is_sent() -> None:
    due = date(2025, 6, 5)
    got = stages(action(due), at(date(2025, 7, 7)), sent=(("overdue", 0),))
    assert ("overdue", 4, "owner") in got
    assert [g for g in got if g[0] == "overdue"] == [("overdue", 4, "owner")]


def test_weekly_repeats_count_from_the_first_overdue_working_day() -> None:
    friday = date(2025, 8, 22)  # first overdue day Tuesday 26th, after the bank holiday
    sent = (("overdue", 0), ("escalate_lead", 0))
    owner_on = {
        day: [g for g in stages(action(friday), at(day), sent, WITH_HOLIDAY) if g[2] == "owner"]
        for day in (date(2025, 9, 1), date(2025, 9, 2))
    }
    assert owner_on == {date(2025, 9, 1): [], date(2025, 9, 2): [("overdue", 1, "owner")]}


def test_a_weekly_repeat_on_a_bank_holiday_goes_out_the_next_working_day() -> None:
    due = date(2025, 8, 15)  # Friday; first overdue Monday 18th, repeat due Monday 25th
    cfg = WITH_HOLIDAY
    sent = (("overdue", 0), ("escalate_lead", 0), ("escalate_chair", 0))
    assert stages(action(due), at(SUMMER_BANK_HOLIDAY), sent, cfg) == []
    assert stages(action(due), at(date(2025, 8, 26)), sent, cfg) == [("overdue", 1, "owner")]
    # The next one keeps its own date: Monday 1 September.
    sent += (("overdue", 1),)
    assert stages(action(due), at(date(2025, 8, 29)), sent, cfg) == []
    assert stages(action(due), at(date(2025, 9, 1)), sent, cfg) == [("overdue", 2, "owner")]


# --- escalations ------------------------------------------------------------------------


def test_lead_escalation_at_exactly_three_working_days_overdue() -> None:
    sent = (("overdue", 0),)
    # Due Friday: Monday is 1 working day overdue, Tuesday 2, Wednesday 3.
    assert stages(action(FRI), at(date(2025, 6, 10)), sent) == []
    assert stages(action(FRI), at(date(2025, 6, 11)), sent) == [("escalate_lead", 0, "lead_professional")]
    assert stages(action(FRI), at(date(2025, 6, 12)), (*sent, ("escalate_lead", 0))) == []


def test_chair_escalation_at_ten_working_days_overdue() -> None:
    sent = (("overdue", 0), ("overdue", 1), ("escalate_lead", 0))
    # Due Friday 6 June: Thursday 19th is 9 working days overdue, Friday 20th is 10.
    assert stages(action(FRI), at(date(2025, 6, 19)), sent) == []
    assert stages(action(FRI), at(date(2025, 6, 20)), sent) == [("escalate_chair", 0, "chair")]


def test_bank_holidays_delay_escalation() -> None:
    due = date(2025, 8, 20)  # Wednesday; Thu 1, Fri 2, (Mon holiday), Tue 3
    sent = (("overdue", 0),)
    assert stages(action(due), at(date(2025, 8, 25)), sent) == [("escalate_lead", 0, "lead_professional")]
    assert stages(action(due), at(date(2025, 8, 26)), sent, WITH_HOLIDAY) == [("escalate_lead", 0, "lead_professional")]
    assert stages(action(due), at(date(2025, 8, 22)), sent, WITH_HOLIDAY) == []


def test_a_late_run_sends_both_escalations_once() -> None:
    got = stages(action(MON), at(date(2025, 7, 1)), sent=(("overdue", 4),))
    assert got == [("escalate_lead", 0, "lead_professional"), ("escalate_chair", 0, "chair")]


@pytest.mark.parametrize(("status", "stage"), [("declined", "declined"), ("blocked", "blocked")])
def test_declined_and_blocked_go_to_lead_and_chair_at_once(status: str, stage: str) -> None:
    facts = action(date(2025, 12, 1), status, **{f"{status}_count": 1})
    assert stages(facts, at(MON)) == [
        (f"{stage}:lead_professional", 1, "lead_professional"),
        (f"{stage}:chair", 1, "chair"),
    ]
    assert stages(facts, at(MON), sent=((f"{stage}:lead_professional", 1),)) == [(f"{stage}:chair", 1, "chair")]


def test_a_second_block_is_escalated_again() -> None:
    sent = (("blocked:lead_professional", 1), ("blocked:chair", 1))
    assert stages(action(date(2025, 12, 1), "blocked", blocked_count=1), at(MON), sent) == []
    again = stages(action(date(2025, 12, 1), "blocked", blocked_count=2), at(MON), sent)
    assert again == [
        ("blocked:lead_professional", 2, "lead_professional"),
        ("blocked:chair", 2, "chair"),
    ]


def test_blocked_actions_get_no_owner_reminders_or_time_escalations() -> None:
    facts = action(MON, "blocked", blocked_count=1)
    sent = (("blocked:lead_professional", 1), ("blocked:chair", 1))
    assert stages(facts, at(date(2025, 7, 1)), sent) == []


def test_an_event_is_reported_even_if_the_action_reopened_before_the_run() -> None:
    facts = action(date(2025, 12, 1), "in_progress", blocked_count=1)
    assert [w for _, _, w in stages(facts, at(MON))] == ["lead_professional", "chair"]


def test_a_status_without_its_counter_is_still_the_first_event() -> None:
    got = stages(action(date(2025, 12, 1), "declined"), at(MON))
    assert got == [
        ("declined:lead_professional", 1, "lead_professional"),
        ("declined:chair", 1, "chair"),
    ]


def test_events_wait_for_working_hours() -> None:
    facts = action(date(2025, 12, 1), "blocked", blocked_count=1)
    assert stages(facts, at(SAT)) == []
    assert stages(facts, at(MON, 18)) == []


# --- snooze, closed actions, working hours -----------------------------------------------


def test_snooze_holds_owner_reminders_but_not_escalations() -> None:
    due = date(2025, 6, 5)  # Thursday; 3 working days overdue on Tuesday 10th
    facts = action(due, snoozed_until=date(2025, 6, 12))
    assert stages(facts, at(date(2025, 6, 10))) == [("escalate_lead", 0, "lead_professional")]
    resumed = stages(facts, at(date(2025, 6, 12)), sent=(("escalate_lead", 0),))
    assert resumed == [("overdue", 0, "owner")]


def test_snooze_over_the_due_date_resumes_with_the_stage_then_due() -> None:
    facts = action(WED, snoozed_until=FRI)
    assert stages(facts, at(MON)) == []
    assert stages(facts, at(WED)) == []
    assert stages(facts, at(FRI)) == [("overdue", 0, "owner")]


@pytest.mark.parametrize("status", CLOSED_STATUSES)
def test_closed_actions_are_never_chased(status: str) -> None:
    facts = action(MON, status, declined_count=2, blocked_count=3)
    for day in (date(2025, 5, 29), MON, date(2025, 6, 10), date(2025, 7, 30)):
        assert stages(facts, at(day)) == []


@pytest.mark.parametrize(
    "now",
    [at(WED, 8, 59), at(WED, 17), at(WED, 23), at(SAT), at(SUN, 12)],
    ids=["before-hours", "at-close", "night", "saturday", "sunday"],
)
def test_nothing_outside_working_hours(now: datetime) -> None:
    assert stages(action(date(2025, 5, 1), blocked_count=1), now) == []


def test_the_local_date_decides_the_day_across_the_clock_change() -> None:
    # Open all day: Sunday 23:30 UTC in summer is already Monday 00:30 in London.
    cfg = ChaseSettings(work_start=time(0), work_end=time(23, 59))
    sunday_night = datetime(2025, 6, 8, 23, 30, tzinfo=UTC)
    assert stages(action(NEXT_MON), sunday_night, cfg=cfg) == [("due_today", 0, "owner")]
    winter_sunday_night = datetime(2025, 12, 7, 23, 30, tzinfo=UTC)  # still Sunday in London
    assert stages(action(date(2025, 12, 8)), winter_sunday_night, cfg=cfg) == []


def test_no_early_reminder_when_lead_days_is_zero() -> None:
    cfg = ChaseSettings(lead_working_days=0)
    assert stages(action(FRI), at(THU), cfg=cfg) == []
    assert stages(action(FRI), at(FRI), cfg=cfg) == [("due_today", 0, "owner")]


def test_reminder_key_and_constants() -> None:
    r = Reminder(ACTION_ID, Stage.BLOCKED, 2, Recipient.CHAIR)
    assert r.key == (ACTION_ID, "blocked:chair", 2)
    assert Reminder(ACTION_ID, Stage.OVERDUE, 3, Recipient.OWNER).key == (ACTION_ID, "overdue", 3)
    assert "overdue" in DUE_DATE_LEDGER_STAGES
    assert "blocked:chair" not in DUE_DATE_LEDGER_STAGES
    assert {"open", "in_progress"} == CHASED_STATUSES
    assert {"declined", "blocked"} == EVENT_STATUSES


def test_scan_horizon_examples() -> None:
    assert earliest_due_date_to_scan(at(THU), DEFAULT) == NEXT_MON
    assert earliest_due_date_to_scan(at(WED), DEFAULT) == SUN  # a Saturday due date: Thursday
    assert earliest_due_date_to_scan(at(FRI), ChaseSettings(lead_working_days=0)) == SUN


# --- properties ---------------------------------------------------------------------------

BASE = date(2025, 1, 6)  # a Monday; spans cover both clock changes of 2025
days = st.integers(min_value=0, max_value=400).map(lambda n: BASE + timedelta(days=n))
holidays = st.frozensets(days, max_size=12)
policies = st.builds(
    ChaseSettings,
    lead_working_days=st.integers(0, 4),
    overdue_repeat_days=st.integers(1, 10),
    escalate_lead_after=st.integers(1, 6),
    escalate_chair_after=st.integers(1, 15),
    bank_holidays=holidays,
)
statuses = st.sampled_from(sorted({*CHASED_STATUSES, *EVENT_STATUSES, *CLOSED_STATUSES}))
facts_st = st.builds(
    ActionFacts,
    id=st.just(ACTION_ID),
    status=statuses,
    due_date=days,
    snoozed_until=st.none() | days,
    declined_count=st.integers(0, 3),
    blocked_count=st.integers(0, 3),
)
moments = st.builds(
    lambda day, minutes: datetime.combine(day, time(0), tzinfo=LONDON) + timedelta(minutes=minutes),
    days,
    st.integers(0, 24 * 60 - 1),
)
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(facts_st, moments, policies, st.data())
def test_never_returns_what_was_sent_and_never_a_key_twice(
    facts: ActionFacts, now: datetime, cfg: ChaseSettings, data: st.DataObject
) -> None:
    fresh = due_reminders(facts, (), now, cfg)
    assert len({r.key for r in fresh}) == len(fresh)
    sent = data.draw(st.frozensets(st.sampled_from([r.key[1:] for r in fresh]))) if fresh else set()
    noise = data.draw(st.frozensets(st.tuples(st.sampled_from(list(Stage)), st.integers(0, 5))))
    again = due_reminders(facts, sent | noise, now, cfg)
    assert not {r.key[1:] for r in again} & (sent | noise)
    assert again == [r for r in fresh if r.key[1:] not in sent | noise]


@fast
@given(facts_st, moments, policies)
def test_nothing_outside_working_hours_or_for_closed_actions(
    facts: ActionFacts, now: datetime, cfg: ChaseSettings
) -> None:
    got = due_reminders(facts, (), now, cfg)
    if not in_working_hours(now, cfg) or facts.status in CLOSED_STATUSES:
        assert got == []
    owner = [r for r in got if r.recipient is Recipient.OWNER]
    if owner:
        assert facts.status in CHASED_STATUSES
        assert facts.snoozed_until is None or now.date() >= facts.snoozed_until
        assert len(owner) == 1


@fast
@given(facts_st, moments, policies)
def test_the_scan_horizon_never_misses_a_due_date_reminder(
    facts: ActionFacts, now: datetime, cfg: ChaseSettings
) -> None:
    horizon = earliest_due_date_to_scan(now, cfg)
    dated = [r for r in due_reminders(facts, (), now, cfg) if r.stage not in (Stage.DECLINED, Stage.BLOCKED)]
    if facts.due_date > horizon:
        assert dated == []


@fast
@given(days, st.integers(-30, 30), holidays)
def test_working_day_arithmetic_agrees(start: date, n: int, hols: frozenset[date]) -> None:
    cfg = ChaseSettings(bank_holidays=hols)
    end = add_working_days(start, n, cfg)
    if n:
        assert is_working_day(end, cfg)
        assert (end > start) == (n > 0)
    if n >= 0 or is_working_day(start, cfg):
        assert working_days_between(start, end, cfg) == n
    low, high = min(start, end), max(start, end)
    slow = sum(is_working_day(low + timedelta(days=i), cfg) for i in range(1, (high - low).days + 1))
    assert working_days_between(low, high, cfg) == slow
    assert working_days_between(high, low, cfg) == -slow


def _simulate(facts: ActionFacts, start: datetime, hours: int, cfg: ChaseSettings) -> list[tuple[datetime, Reminder]]:
    """Run the chase every hour, recording what each run returns in the ledger."""
    ledger: set[tuple[str, int]] = set()
    log: list[tuple[datetime, Reminder]] = []
    for h in range(hours):
        now = start + timedelta(hours=h)
        for reminder in due_reminders(facts, ledger, now, cfg):
            assert reminder.key[1:] not in ledger
            ledger.add(reminder.key[1:])
            log.append((now, reminder))
    return log


def _first_run_on_or_after(day: date, cfg: ChaseSettings) -> date:
    return add_working_days(day, 1, cfg) if not is_working_day(day, cfg) else day


def _longest_break(cfg: ChaseSettings, first: date, last: date) -> int:
    """The longest run of non-working days between two dates: the slack a repeat can slip."""
    longest = run = 0
    for i in range((last - first).days + 1):
        run = 0 if is_working_day(first + timedelta(days=i), cfg) else run + 1
        longest = max(longest, run)
    return longest


simulation = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@simulation
@given(
    due=days,
    start_offset=st.integers(-10, 20),
    span_days=st.integers(1, 45),
    start_hour=st.integers(0, 23),
    cfg=policies,
    status=st.sampled_from(sorted(CHASED_STATUSES)),
)
def test_hourly_runs_chase_every_period_and_escalate_exactly_once(
    due: date,
    start_offset: int,
    span_days: int,
    start_hour: int,
    cfg: ChaseSettings,
    status: str,
) -> None:
    facts = ActionFacts(id=uuid4(), status=status, due_date=due)
    start_day = due + timedelta(days=start_offset)
    start = datetime.combine(start_day, time(start_hour), tzinfo=UTC)
    hours = span_days * 24
    log = _simulate(facts, start, hours, cfg)
    end = start + timedelta(hours=hours)
    runs_from = start.astimezone(LONDON)

    keys = Counter(r.key for _, r in log)
    assert all(n == 1 for n in keys.values())
    assert all(r.stage not in (Stage.DECLINED, Stage.BLOCKED) for _, r in log)

    # Each escalation happens at most once, and exactly once if its day came within the span.
    for stage, after in (
        (Stage.ESCALATE_LEAD, cfg.escalate_lead_after),
        (Stage.ESCALATE_CHAIR, cfg.escalate_chair_after),
    ):
        sent_at = [t for t, r in log if r.stage is stage]
        day = add_working_days(due, after, cfg)
        opens = datetime.combine(day, cfg.work_start, tzinfo=LONDON)
        if opens >= runs_from and opens < end:
            assert len(sent_at) == 1
            assert sent_at[0].astimezone(LONDON).date() == day
            assert sent_at[0] - opens < timedelta(hours=1)
        elif opens < runs_from and _any_run_in_hours(start, end, cfg):
            assert len(sent_at) == 1
        elif opens >= end:
            assert sent_at == []

    # Every weekly overdue occurrence goes out at the first working-hours run on or after its
    # date, and consecutive owner reminders are never more than a period (+ days off) apart.
    first_overdue = add_working_days(due, 1, cfg)
    overdue = [(t, r) for t, r in log if r.stage is Stage.OVERDUE]
    period = cfg.overdue_repeat_days
    k = 0
    while True:
        day = _first_run_on_or_after(first_overdue + timedelta(days=k * period), cfg)
        opens = datetime.combine(day, cfg.work_start, tzinfo=LONDON)
        if opens >= end:
            break
        if opens >= runs_from:
            current = (day - first_overdue).days // period  # a later one if k slipped past it
            sent = [t for t, r in overdue if r.occurrence == current]
            assert len(sent) == 1, (k, day)
            assert sent[0] - opens < timedelta(hours=1)
        k += 1
    owner_days = [t.astimezone(LONDON).date() for t, r in overdue]
    slack = _longest_break(cfg, first_overdue, end.date() + timedelta(days=1))
    for earlier, later in pairwise(owner_days):
        assert (later - earlier).days <= cfg.overdue_repeat_days + slack


def _any_run_in_hours(start: datetime, end: datetime, cfg: ChaseSettings) -> bool:
    now = start
    while now < end:
        if in_working_hours(now, cfg):
            return True
        now += timedelta(hours=1)
    return False


@simulation
@given(
    block_days=st.lists(st.integers(0, 40), min_size=1, max_size=4, unique=True),
    cfg=policies,
)
def test_each_block_event_reaches_lead_and_chair_exactly_once(block_days: list[int], cfg: ChaseSettings) -> None:
    """A block each listed day, lifted the next day; every event is escalated once to each."""
    block_days.sort()
    ledger: set[tuple[str, int]] = set()
    log: list[Reminder] = []
    count = 0
    for offset in range(45):
        today = BASE + timedelta(days=offset)
        if offset in block_days:
            count += 1
        status = "blocked" if offset in block_days else "open"
        facts = ActionFacts(ACTION_ID, status, date(2026, 12, 1), blocked_count=count)
        for hour in range(24):
            now = datetime.combine(today, time(hour), tzinfo=LONDON)
            for r in due_reminders(facts, ledger, now, cfg):
                ledger.add(r.key[1:])
                log.append(r)
    blocks = Counter((r.occurrence, r.recipient) for r in log if r.stage is Stage.BLOCKED)
    assert all(n == 1 for n in blocks.values())
    # Only the latest event is reported when several came before a working-hours run, and the
    # last one always is.
    assert blocks[(count, Recipient.LEAD)] == 1 == blocks[(count, Recipient.CHAIR)] or not any(
        is_working_day(BASE + timedelta(days=o), cfg) for o in range(block_days[-1], 45)
    )
