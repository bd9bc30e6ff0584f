"""What the insights page shows: headline figures and one section per measure, each a chart
and the table of its numbers. Pure: made from ``rules.Insights``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from markupsafe import Markup

from server.insights.charts import Bar, bar_chart, summary
from server.insights.rules import AgencyFigures, Insights, Period, duration, percent, rate

FAMILY_LABEL = "Family"


@dataclass(frozen=True, slots=True)
class Headline:
    """A figure at the top of the page, with the words that say what it counts ("3 of 4 invitations")."""

    label: str
    value: str
    detail: str


@dataclass(frozen=True, slots=True)
class Section:
    """One measure: its chart, and the table of the same numbers for whoever does not read charts."""

    id: str
    title: str
    explanation: str
    chart: Markup
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


def _of(part: int, whole: int) -> str:
    return f"{part} of {whole} ({percent(rate(part, whole))})" if whole else "none"


def _scaled(values: Sequence[int]) -> Callable[[int], float]:
    top = max(values, default=0)
    return lambda value: value / top if top else 0.0


class Share(NamedTuple):
    """One row of a measure that is a part of a whole: meetings attended of those invited…"""

    name: str
    whole: int
    part: int
    share: float | None
    family: bool = False


def _shares_section(id_: str, title: str, explanation: str, columns: Sequence[str], shares: Sequence[Share]) -> Section:
    """A measure counted as a part of a whole for each agency: the bar is the part's share."""
    bars = [Bar(s.name, s.share or 0.0, _of(s.part, s.whole), s.family) for s in shares]
    rows = [[s.name, str(s.whole), str(s.part), percent(s.share)] for s in shares]
    return _section(id_, title, explanation, bars, columns, rows)


def _section(
    id_: str, title: str, explanation: str, bars: list[Bar], columns: Sequence[str], rows: list[list[str]]
) -> Section:
    return Section(id_, title, explanation, bar_chart(f"chart-{id_}", title, summary(bars), bars), columns, rows)


def period_words(period: Period) -> str:
    return f"{period.first:%-d %B %Y} to {period.last:%-d %B %Y}"


def headlines(insights: Insights) -> list[Headline]:
    agencies = insights.agencies
    invited = sum(a.meetings_invited for a in agencies)
    attended = sum(a.meetings_attended for a in agencies)
    expected = sum(a.reports_expected for a in agencies)
    reports = sum(a.reports_on_time for a in agencies)
    timescales = insights.timescales
    assigned = sum(a.actions_assigned for a in agencies)
    on_time = sum(a.actions_done_on_time for a in agencies)
    overdue = sum(a.actions_overdue for a in agencies)
    return [
        Headline("Meetings held", str(insights.meetings_held), "ended in the period"),
        Headline("Agencies attending", percent(rate(attended, invited)), f"{attended} of {invited} invitations"),
        Headline("Reports on time", percent(rate(reports, expected)), f"{reports} of {expected} expected"),
        Headline(
            "Family's share of speaking",
            percent(insights.family.speaking_share),
            duration(insights.family.speaking_seconds),
        ),
        Headline("Actions done on time", percent(rate(on_time, assigned)), f"{on_time} of {assigned} agreed"),
        Headline("Actions overdue now", str(overdue), "still open after their due date"),
        Headline(
            "Timescales met in time",
            percent(rate(timescales.met, timescales.total)),
            f"{timescales.met} of {timescales.total} due; {timescales.overdue} overdue",
        ),
        Headline(
            "Minutes approved in time",
            percent(rate(insights.minutes.on_time, insights.minutes.settled)),
            f"{insights.minutes.on_time} of {insights.minutes.settled} due; {insights.minutes.pending} still in draft",
        ),
    ]


def sections(insights: Insights) -> list[Section]:
    agencies: list[AgencyFigures] = insights.agencies
    family = insights.family
    found: list[Section] = []

    attendance = [Share(a.agency.name, a.meetings_invited, a.meetings_attended, a.attendance_rate) for a in agencies]
    attendance.append(
        Share(FAMILY_LABEL, family.meetings_invited, family.meetings_attended, family.attendance_rate, True)
    )
    found.append(
        _shares_section(
            "attendance",
            "Meetings attended, of those invited",
            "An agency is invited when someone from it is on the child's team; "
            "it attended when someone from it joined.",
            ("Agency", "Invited", "Attended", "Attended, of invited"),
            attendance,
        )
    )
    found.append(
        _shares_section(
            "reports",
            "Reports in on time, of those expected",
            "A report is expected from each agency with a professional on the child's team, "
            "by its due date before the meeting.",
            ("Agency", "Expected", "On time", "On time, of expected"),
            [
                Share(a.agency.name, a.reports_expected, a.reports_on_time, a.reports_rate)
                for a in agencies
                if a.reports_expected
            ],
        )
    )

    bars = [Bar(a.agency.name, a.speaking_share or 0.0, percent(a.speaking_share)) for a in agencies]
    bars.append(Bar(FAMILY_LABEL, family.speaking_share or 0.0, percent(family.speaking_share), True))
    rows = [[a.agency.name, duration(a.speaking_seconds), percent(a.speaking_share)] for a in agencies]
    rows.append([FAMILY_LABEL, duration(family.speaking_seconds), percent(family.speaking_share)])
    found.append(
        _section(
            "speaking",
            "Share of speaking time",
            "Of all the time anyone had the floor in these meetings; the shares add up to the whole.",
            bars,
            ("Agency", "Speaking time", "Share"),
            rows,
        )
    )

    values = [a.items_present_not_heard for a in agencies] + [family.items_present_not_heard]
    scale = _scaled(values)
    bars = [Bar(a.agency.name, scale(a.items_present_not_heard), str(a.items_present_not_heard)) for a in agencies]
    bars.append(Bar(FAMILY_LABEL, scale(family.items_present_not_heard), str(family.items_present_not_heard), True))
    rows = [[a.agency.name, str(a.items_present_not_heard)] for a in agencies]
    rows.append([FAMILY_LABEL, str(family.items_present_not_heard)])
    found.append(
        _section(
            "unheard",
            "Agenda items where an agency was present but not heard",
            "Each item discussed that an agency attended without taking a turn on it. "
            "Items for professionals only are not counted for the family.",
            bars,
            ("Agency", "Items present, not heard"),
            rows,
        )
    )

    acting = [a for a in agencies if a.actions_assigned or a.actions_declined]  # a chair alone has none
    found.append(
        _shares_section(
            "on-time",
            "Actions done on time, of those agreed",
            "Actions agreed in the period, under the agency that owns them now; "
            "on time is done on or before the due date.",
            ("Agency", "Agreed", "Done on time", "On time, of agreed"),
            [Share(a.agency.name, a.actions_assigned, a.actions_done_on_time, a.on_time_rate) for a in acting],
        )
    )

    for id_, title, explanation, column, figure in (
        (
            "overdue",
            "Actions overdue now",
            "Actions agreed in the period that are still open after their due date today.",
            "Overdue now",
            "actions_overdue",
        ),
        (
            "declined",
            "Actions declined",
            "Actions agreed in the period that someone from the agency declined.",
            "Declined",
            "actions_declined",
        ),
    ):
        counts = [int(getattr(a, figure)) for a in acting]
        scale = _scaled(counts)
        bars = [Bar(a.agency.name, scale(n), str(n)) for a, n in zip(acting, counts, strict=True)]
        rows = [[a.agency.name, str(a.actions_assigned), str(n)] for a, n in zip(acting, counts, strict=True)]
        found.append(_section(id_, title, explanation, bars, ("Agency", "Agreed", column), rows))

    timescales = insights.timescales
    found.append(
        _states_section(
            "timescales",
            "Statutory timescales due in the period",
            "Initial and review conferences, core groups and TAC reviews whose due date fell in the period: "
            "held by it, held after it, or not yet held and past it.",
            "Milestones",
            [("Met in time", timescales.met), ("Met late", timescales.met_late), ("Overdue now", timescales.overdue)],
        )
    )
    minutes = insights.minutes
    found.append(
        _states_section(
            "minutes",
            "Minutes approved within 15 working days",
            "The minutes of the meetings ended in the period: approved by the chair within 15 working days "
            "of the meeting, approved after that or still a draft past it, and drafts still within it.",
            "Minutes",
            [
                ("Approved in time", minutes.on_time),
                ("Late", minutes.late),
                ("Draft, still in time", minutes.pending),
            ],
        )
    )
    return found


def _states_section(id_: str, title: str, explanation: str, noun: str, states: Sequence[tuple[str, int]]) -> Section:
    """A whole split into states (met, late, overdue…): each state's count and share of it."""
    total = sum(count for _, count in states)
    bars = [Bar(label, count / total if total else 0.0, _of(count, total)) for label, count in states]
    rows = [[label, str(count), percent(rate(count, total))] for label, count in states]
    return _section(id_, title, explanation, bars, (noun, "How many", f"Of all {noun.lower()}"), rows)
