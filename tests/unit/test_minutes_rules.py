"""The minutes' calendar: correction windows and chase stages on the chase's working days."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.actions.chase import ChaseSettings, is_working_day, working_days_between
from server.minutes.rules import MinutesStage, draft_until, due_stages, escalate_on, may_correct

CALENDAR = ChaseSettings(bank_holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28)}))


def test_five_working_days_skip_the_weekend_and_bank_holidays() -> None:
    assert draft_until(date(2026, 12, 2), 5, CALENDAR) == date(2026, 12, 9)  # Wed -> next Wed
    assert draft_until(date(2026, 12, 21), 5, CALENDAR) == date(2026, 12, 30)  # over Christmas
    assert draft_until(date(2026, 12, 5), 5, CALENDAR) == date(2026, 12, 11)  # from a Saturday


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)), st.integers(1, 30))
def test_the_window_ends_on_a_working_day_exactly_that_many_working_days_later(ended: date, days: int) -> None:
    until = draft_until(ended, days, CALENDAR)
    assert is_working_day(until, CALENDAR)
    assert working_days_between(ended, until, CALENDAR) == days


def stages(today: date, sent: set[str] = set(), status: str = "draft") -> list[MinutesStage]:  # noqa: B006
    ended = date(2026, 11, 20)
    return due_stages(
        status=status,
        until=draft_until(ended, 5, CALENDAR),
        ended_on=ended,
        today=today,
        sent=sent,
        escalate_days=15,
        calendar=CALENDAR,
    )


def test_the_stages_come_in_turn_once_each() -> None:
    assert stages(date(2026, 11, 26)) == []
    assert stages(date(2026, 11, 27)) == [MinutesStage.REMIND_CHAIR]
    assert stages(date(2026, 12, 1), {"remind_chair"}) == []
    assert escalate_on(date(2026, 11, 20), 15, CALENDAR) == date(2026, 12, 11)
    assert stages(date(2026, 12, 10), {"remind_chair"}) == []
    assert stages(date(2026, 12, 11), {"remind_chair"}) == [MinutesStage.ESCALATE]
    assert stages(date(2026, 12, 20)) == [MinutesStage.REMIND_CHAIR, MinutesStage.ESCALATE]  # a late chase
    assert stages(date(2026, 12, 20), {"remind_chair", "escalate"}) == []
    assert stages(date(2026, 12, 20), status="approved") == []


@given(st.integers(0, 60))
def test_corrections_are_open_while_draft_up_to_and_including_draft_until(offset: int) -> None:
    until = date(2026, 12, 9)
    today = date(2026, 11, 20) + timedelta(days=offset)
    assert may_correct("draft", until, today) is (today <= until)
    assert may_correct("approved", until, today) is False
