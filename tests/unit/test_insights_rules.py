"""The pure rules of the partnership insights: who may read them, the period and its instants
in local time, shares and rates, how counts become figures (the family kept as one figure and
never named), the words on the page, and the SVG charts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from server.actions.chase import ChaseSettings, is_working_day
from server.insights.charts import Bar, bar_chart
from server.insights.rules import (
    COUNTS,
    CSV_HEADER,
    AgencyInfo,
    MinutesFigures,
    Period,
    csv_rows,
    duration,
    may_read_insights,
    minutes_figures,
    percent,
    period_problems,
    rate,
    shape,
    share,
)
from server.insights.view import sections

LONDON = ZoneInfo("Europe/London")
SECTORS = ["health", "education", "police", "family", "other"]


@given(st.booleans(), st.booleans(), st.sampled_from(SECTORS))
def test_who_may_read_them(is_admin: bool, permitted: bool, sector: str) -> None:
    allowed = may_read_insights(is_admin=is_admin, can_see_insights=permitted, sector=sector)
    assert allowed == (is_admin or (permitted and sector != "family"))


def test_a_period_covers_its_local_days_whole() -> None:
    summer = Period(date(2026, 6, 1), date(2026, 6, 30)).bounds(LONDON)
    assert [moment.utcoffset() for moment in summer] == [timedelta(hours=1)] * 2
    assert summer[1] - summer[0] == timedelta(days=30)
    # over the change to summer time the period is an hour short, in instants, and whole in days
    spring = Period(date(2026, 3, 29), date(2026, 3, 29)).bounds(LONDON)
    assert spring[1].astimezone(UTC) - spring[0].astimezone(UTC) == timedelta(hours=23)


@given(st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.integers(-400, 4000))
def test_period_problems(first: date, days: int) -> None:
    last = first + timedelta(days=days)
    problems = period_problems(first, last)
    if days < 0:
        assert list(problems) == ["to"]
    elif days + 1 > 366 * 10:
        assert list(problems) == ["from"]
    else:
        assert problems == {}
        assert Period(first, last).days == days + 1


@given(st.floats(0, 1e9), st.floats(0, 1e9))
@example(0.0, 0.0)
def test_a_share_is_a_fraction_or_nothing(part: float, whole: float) -> None:
    found = share(min(part, whole), whole)
    if whole <= 0:
        assert found is None
    else:
        assert found is not None
        assert 0 <= found <= 1


@given(st.integers(-5, 100), st.integers(-5, 100))
def test_a_rate_is_never_above_one_and_none_without_a_whole(part: int, whole: int) -> None:
    found = rate(part, whole)
    assert (found is None) == (whole <= 0)
    if found is not None:
        assert 0 <= found <= 1


def test_percent_and_duration_for_people() -> None:
    assert [percent(v) for v in (None, 0.0, 0.004, 0.5, 0.996, 1.0)] == [
        "none", "0%", "under 1%", "50%", "over 99%", "100%",
    ]  # fmt: skip
    assert [duration(s) for s in (0, 40.4, 61, 3600, 7500)] == ["0 s", "40 s", "1 min", "1 h 0 min", "2 h 5 min"]


AGENCY = st.builds(
    AgencyInfo, st.uuids(), st.text(min_size=1, max_size=30).map(lambda s: "Agency " + s), st.sampled_from(SECTORS)
)
ROW = st.fixed_dictionaries({name: st.integers(0, 50) for name in COUNTS})


@given(st.lists(st.tuples(AGENCY, ROW), max_size=8, unique_by=lambda pair: pair[0].id))
def test_shaping_keeps_every_count_and_never_lists_a_family(pairs: list[tuple[AgencyInfo, dict[str, int]]]) -> None:
    counts: dict[uuid.UUID, dict[str, float]] = {a.id: {k: float(v) for k, v in row.items()} for a, row in pairs}
    insights = shape(Period(date(2026, 1, 1), date(2026, 12, 31)), [a for a, _ in pairs], counts, meetings_held=3)
    listed = {figures.agency.id for figures in insights.agencies}
    families = [(a, row) for a, row in pairs if a.sector == "family"]
    assert not listed & {a.id for a, _ in families}
    expected = {a.id for a, row in pairs if a.sector != "family" and any(row.values())}
    assert listed == expected
    assert insights.family.items_present_not_heard == sum(row["items_present_not_heard"] for _, row in families)
    assert insights.family.meetings_invited == sum(row["meetings_invited"] for _, row in families)
    shares = [f.speaking_share for f in insights.agencies] + [insights.family.speaking_share]
    total = sum(row["speaking_seconds"] for _, row in pairs)
    if total == 0:
        assert all(s is None for s in shares)
    else:
        spoken = sum(s for s in shares if s is not None)
        assert abs(spoken - 1) <= 0.0001 * len(shares)  # each share is rounded to four places
    names = [f.agency.name.casefold() for f in insights.agencies]
    assert names == sorted(names)
    # the CSV has a row per agency and the family's, every row as long as its header
    rows = csv_rows(insights)
    assert len(rows) == len(insights.agencies) + 1 + 6  # then the timescales and the minutes
    assert all(len(row) == len(CSV_HEADER) for row in rows[:-6])
    assert rows[-5] == ["statutory_timescales", "met", "met_late", "overdue"]
    assert rows[-2] == ["minutes", "approved_within_15_working_days", "late", "draft_within_limit"]
    # and every section of the page has one chart row per table row, all in the chart's words
    for section in sections(insights):
        assert section.chart.count('class="chart__track"') == len(section.rows)
        for row in section.rows:
            assert len(row) == len(section.columns)


def test_a_chart_says_its_values_and_escapes_names() -> None:
    svg = bar_chart(
        "chart-x",
        "Attendance <all>",
        "A: 1 of 2",
        [Bar("<script>alert(1)</script> and a name far too long to fit beside its value", 0.5, "1 of 2 (50%)"),
         Bar("Family", 0.0004, "1 of 2500 (under 1%)", emphasis=True)],
    )  # fmt: skip
    assert "<script>" not in svg
    assert 'role="img"' in svg
    assert 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert "1 of 2 (50%)" in svg
    assert "…" in svg
    widths = [float(w) for w in re.findall(r'class="chart__bar[^"]*" x="0" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths == [160.0, 2.0]  # a small count is still seen
    assert 'class="chart__bar-hatched"' in svg  # the family's bar, named in its label too


CALENDAR = ChaseSettings(bank_holidays=frozenset({date(2026, 5, 25)}))


def test_minutes_are_in_time_up_to_the_fifteenth_working_day_itself() -> None:
    # Ended Mon 11 May 2026; 15 working days on, the bank holiday of 25 May skipped: Tue 2 June
    ended = date(2026, 5, 11)
    reviews = [
        (ended, date(2026, 6, 2), 2),  # on the last day: in time
        (ended, date(2026, 6, 3), 1),  # a day after: late
        (ended, None, 4),  # still a draft
    ]
    assert minutes_figures(reviews, date(2026, 6, 2), 15, CALENDAR) == MinutesFigures(on_time=2, late=1, pending=4)
    past = minutes_figures(reviews, date(2026, 6, 3), 15, CALENDAR)
    assert (past.on_time, past.late, past.pending) == (2, 5, 0)  # a draft past the limit is late


@given(
    st.lists(
        st.tuples(
            st.dates(date(2025, 1, 1), date(2026, 12, 31)),
            st.one_of(st.none(), st.integers(0, 60)),
            st.integers(1, 5),
        ),
        max_size=30,
    ),
    st.dates(date(2025, 1, 1), date(2027, 3, 31)),
    st.integers(1, 20),
)
def test_every_minutes_is_counted_once_against_its_own_limit(
    raw: list[tuple[date, int | None, int]], today: date, days: int
) -> None:
    reviews = [(ended, None if after is None else ended + timedelta(days=after), n) for ended, after, n in raw]
    found = minutes_figures(reviews, today, days, CALENDAR)
    assert found.on_time + found.late + found.pending == sum(n for _, _, n in reviews)
    for ended, approved, n in reviews:
        limit, working = ended, 0
        while working < days:
            limit += timedelta(days=1)
            working += is_working_day(limit, CALENDAR)
        alone = minutes_figures([(ended, approved, n)], today, days, CALENDAR)
        if approved is not None:
            assert (alone.on_time, alone.late) == ((n, 0) if approved <= limit else (0, n))
        else:
            assert (alone.late, alone.pending) == ((n, 0) if today > limit else (0, n))
