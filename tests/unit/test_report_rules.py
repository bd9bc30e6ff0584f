"""The report dates and who sees a report: examples per meeting kind, then properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.actions.chase import ChaseSettings, is_working_day, working_days_between
from server.reports import rules

CAL = ChaseSettings()
FRI = date(2025, 6, 13)  # a Friday


def test_share_and_due_dates_by_kind() -> None:
    assert rules.share_on("initial_conference", FRI, CAL) == date(2025, 6, 10)
    assert rules.share_on("review_conference", FRI, CAL) == date(2025, 6, 6)
    assert rules.share_on("tac", FRI, CAL) == date(2025, 6, 11)
    assert rules.due_on("initial_conference", FRI, CAL) == date(2025, 6, 6)
    dates = rules.dates_for("tac", datetime.combine(FRI, time(10), ZoneInfo("Europe/London")), CAL)
    assert (dates.share_on, dates.due_on, dates.chase_from) == (date(2025, 6, 11), date(2025, 6, 9), date(2025, 6, 5))


def test_bank_holidays_and_the_local_date() -> None:
    cal = ChaseSettings(bank_holidays=frozenset({date(2025, 6, 11)}))
    assert rules.share_on("tac", FRI, cal) == date(2025, 6, 10)
    # 23:30 UTC on Thursday is Friday 00:30 in London (summer time): the meeting is on Friday.
    late = datetime(2025, 6, 12, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert rules.meeting_day(late, CAL) == FRI


def test_family_sees_only_shared_reports_from_share_on() -> None:
    share = date(2025, 6, 10)
    assert not rules.family_sees(share_with_family=True, share_on=share, today=date(2025, 6, 9))
    assert rules.family_sees(share_with_family=True, share_on=share, today=share)
    assert not rules.family_sees(share_with_family=False, share_on=share, today=date(2025, 7, 1))


def test_writing_and_chasing_stop_when_the_meeting_starts() -> None:
    assert rules.may_write("scheduled")
    assert not rules.may_write("live")
    assert not rules.may_write("ended")
    dates = rules.dates_for("tac", datetime.combine(FRI, time(10), ZoneInfo("Europe/London")), CAL)
    assert not rules.chase_due(status="scheduled", missing=True, today=date(2025, 6, 4), dates=dates)
    assert rules.chase_due(status="scheduled", missing=True, today=date(2025, 6, 5), dates=dates)
    assert not rules.chase_due(status="scheduled", missing=False, today=date(2025, 6, 5), dates=dates)
    assert not rules.chase_due(status="live", missing=True, today=FRI, dates=dates)
    assert rules.chase_stage(date(2025, 6, 9), dates) == "report_due"
    assert rules.chase_stage(date(2025, 6, 10), dates) == "report_overdue"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(("tac", "initial_conference", "review_conference", "core_group", "strategy", "other")),
    st.dates(date(2025, 1, 1), date(2028, 1, 1)),
    st.frozensets(st.dates(date(2024, 12, 1), date(2028, 1, 1)), max_size=40),
)
def test_dates_are_working_days_in_order(kind: str, meeting_on: date, holidays: frozenset[date]) -> None:
    cal = ChaseSettings(bank_holidays=holidays)
    share, due = rules.share_on(kind, meeting_on, cal), rules.due_on(kind, meeting_on, cal)
    assert is_working_day(share, cal)
    assert is_working_day(due, cal)
    assert due < share < meeting_on
    assert working_days_between(due, share, cal) == 2
    assert meeting_on - share <= timedelta(days=30)


def test_light_formatting_escapes_everything_else() -> None:
    from server.reports.text import light_format

    html = str(light_format("Hello **world** <script>x</script>\nnext\n\n- one\n- **two**"))
    assert html == (
        "<p>Hello <strong>world</strong> &lt;script&gt;x&lt;/script&gt;<br>next</p>"
        "<ul><li>one</li><li><strong>two</strong></li></ul>"
    )
