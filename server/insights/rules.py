"""Pure rules of the partnership insights: who may read them, the period, and how the counts
the queries return become the figures people read (shares, rates, the family apart).

No I/O: the queries hand over plain counts per agency; everything decided about them is here,
so it is tested exhaustively without a database.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.actions.chase import ChaseSettings
from server.cases.timescales import Milestone, MilestoneState
from server.minutes.rules import escalate_on

FAMILY_SECTOR = "family"
DEFAULT_DAYS = 365
MAX_DAYS = 366 * 10  # ten years: more is a typing mistake, not a question

COUNTS = (
    "meetings_invited",
    "meetings_attended",
    "reports_expected",
    "reports_on_time",
    "speaking_seconds",
    "items_present_not_heard",
    "actions_assigned",
    "actions_done_on_time",
    "actions_overdue",
    "actions_declined",
)
"""The counts kept per agency, in the order of the contract."""


def may_read_insights(*, is_admin: bool, can_see_insights: bool, sector: str) -> bool:
    """Administrators, and professionals given the insights permission. A family account never
    reads them, whatever its flags say: they are the partnership's figures about itself."""
    return is_admin or (can_see_insights and sector != FAMILY_SECTOR)


# --- the period -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates, both included (``first`` to ``last``), as people choose them."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants it covers, [start, end): local midnight of the first day to local
        midnight after the last, so a meeting ending at 23:30 on the last day counts."""
        start = datetime.combine(self.first, time(0), tzinfo=zone)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone)
        return start, end


def default_period(today: date) -> Period:
    """The last twelve months, today included."""
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def period_problems(first: date, last: date) -> dict[str, str]:
    """What is wrong with a chosen period, by field (``from``, ``to``); empty when it is fine."""
    if first > last:
        return {"to": "The end of the period must be on or after its start."}
    if (last - first).days + 1 > MAX_DAYS:
        return {"from": "Choose a period of at most ten years."}
    return {}


def parse_day(text: str | None) -> date | None:
    """A YYYY-MM-DD date from a form, or None when it is not one."""
    if not text or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# --- ratios -----------------------------------------------------------------------------------


def share(part: float, whole: float) -> float | None:
    """part / whole to four decimal places; None when there is no whole (nobody spoke)."""
    if whole <= 0:
        return None
    return round(min(max(part / whole, 0.0), 1.0), 4)


def rate(part: int, whole: int) -> float | None:
    """How many of the whole: None (not 0) when there was nothing to count, so that an agency
    that was never invited is not shown as never attending."""
    if whole <= 0:
        return None
    return min(max(part, 0), whole) / whole


def percent(value: float | None) -> str:
    """A share or rate as a whole percentage for people to read; "none" without a whole."""
    if value is None:
        return "none"
    shown = round(value * 100)
    if shown == 0 and value > 0:
        return "under 1%"
    if shown == 100 and value < 1:
        return "over 99%"
    return f"{shown}%"


def duration(seconds: float) -> str:
    """Speaking time for people: "2 h 5 min", "14 min", "40 s"."""
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


# --- shaping ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    """An agency as the insights show it; the family's sector marks those added up as "Family"."""

    id: uuid.UUID
    name: str
    sector: str


@dataclass(frozen=True, slots=True)
class ParticipationFigures:
    """What is counted alike for an agency and for the family: the meetings they were invited to
    and attended, their speaking time and its share, and the items they were present for but not
    heard on."""

    meetings_invited: int = 0
    meetings_attended: int = 0
    speaking_seconds: int = 0
    speaking_share: float | None = None
    items_present_not_heard: int = 0

    @property
    def attendance_rate(self) -> float | None:
        return rate(self.meetings_attended, self.meetings_invited)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgencyFigures(ParticipationFigures):
    """One agency's figures: those counted alike for the family (above), its reports and actions."""

    agency: AgencyInfo
    reports_expected: int = 0
    reports_on_time: int = 0
    actions_assigned: int = 0
    actions_done_on_time: int = 0
    actions_overdue: int = 0
    actions_declined: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.actions_done_on_time, self.actions_assigned)

    @property
    def reports_rate(self) -> float | None:
        return rate(self.reports_on_time, self.reports_expected)


@dataclass(frozen=True, slots=True)
class FamilyFigures(ParticipationFigures):
    """The family agencies (one a case) added up into one: a family is never listed by name."""


@dataclass(frozen=True, slots=True)
class TimescaleFigures:
    """Statutory milestones due in the period: held in time, held late, and not held and past
    their due date today (those due and not yet past are neither)."""

    met: int = 0
    met_late: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.met + self.met_late + self.overdue


def timescale_figures(milestones: Iterable[Milestone], period: Period) -> TimescaleFigures:
    """Count the milestones whose due date falls in the period, by their state."""
    states = Counter(m.state for m in milestones if period.first <= m.due_on <= period.last)
    return TimescaleFigures(
        met=states[MilestoneState.MET], met_late=states[MilestoneState.MET_LATE], overdue=states[MilestoneState.OVERDUE]
    )


@dataclass(frozen=True, slots=True)
class MinutesFigures:
    """The minutes of the meetings ended in the period: approved within the escalation limit
    (``minutes_escalate_working_days`` after the meeting, 15 unless configured, on the chase's
    calendar), late (approved after it, or still a draft past it today), and still a draft
    within it (neither yet)."""

    on_time: int = 0
    late: int = 0
    pending: int = 0

    @property
    def settled(self) -> int:
        return self.on_time + self.late


def minutes_figures(
    reviews: Iterable[tuple[date, date | None, int]], today: date, escalate_days: int, calendar: ChaseSettings
) -> MinutesFigures:
    """Count minutes from ``(day drafted, day approved or None, how many)``, local dates: the
    limit is counted as the chase counts it, from the day the draft was made when the meeting
    ended. "Within" includes the limit's own day (the fifteenth working day itself)."""
    limits: dict[date, date] = {}
    on_time = late = pending = 0
    for drafted_on, approved_on, n in reviews:
        if drafted_on not in limits:
            limits[drafted_on] = escalate_on(drafted_on, escalate_days, calendar)
        limit = limits[drafted_on]
        if approved_on is not None:
            on_time, late = (on_time + n, late) if approved_on <= limit else (on_time, late + n)
        elif today > limit:
            late += n
        else:
            pending += n
    return MinutesFigures(on_time, late, pending)


@dataclass(frozen=True, slots=True)
class Insights:
    period: Period
    agencies: list[AgencyFigures] = field(default_factory=list)
    family: FamilyFigures = field(default_factory=FamilyFigures)
    meetings_held: int = 0
    timescales: TimescaleFigures = field(default_factory=TimescaleFigures)
    minutes: MinutesFigures = field(default_factory=MinutesFigures)

    @property
    def is_empty(self) -> bool:
        return self.meetings_held == 0 and not any(a.actions_assigned for a in self.agencies)


def shape(
    period: Period,
    agencies: Iterable[AgencyInfo],
    counts: Mapping[uuid.UUID, Mapping[str, float]],
    *,
    meetings_held: int,
    timescales: TimescaleFigures | None = None,
    minutes: MinutesFigures | None = None,
) -> Insights:
    """Counts per agency (any of COUNTS, missing ones are 0) into the figures.

    Speaking shares are of all the time anyone spoke, the family's included, so the agencies'
    shares and the family's add up to one. Family agencies (one per case) are never listed by
    name: a family agency is called after the family, which would name the child. Their counts
    are added up into the one family figure. An agency with nothing counted is left out."""
    known = {agency.id: agency for agency in agencies}
    total_seconds = sum(float(row.get("speaking_seconds", 0)) for row in counts.values())
    listed: list[AgencyFigures] = []
    family_seconds = 0.0
    family_unheard = family_invited = family_attended = 0
    for agency_id, row in counts.items():
        agency = known.get(agency_id)
        if agency is None:
            continue
        seconds = float(row.get("speaking_seconds", 0))
        if agency.sector == FAMILY_SECTOR:
            family_seconds += seconds
            family_unheard += int(row.get("items_present_not_heard", 0))
            family_invited += int(row.get("meetings_invited", 0))
            family_attended += int(row.get("meetings_attended", 0))
            continue
        if not any(row.get(name, 0) for name in COUNTS):
            continue
        listed.append(
            AgencyFigures(
                agency=agency,
                meetings_invited=int(row.get("meetings_invited", 0)),
                meetings_attended=int(row.get("meetings_attended", 0)),
                reports_expected=int(row.get("reports_expected", 0)),
                reports_on_time=int(row.get("reports_on_time", 0)),
                speaking_seconds=round(seconds),
                speaking_share=share(seconds, total_seconds),
                items_present_not_heard=int(row.get("items_present_not_heard", 0)),
                actions_assigned=int(row.get("actions_assigned", 0)),
                actions_done_on_time=int(row.get("actions_done_on_time", 0)),
                actions_overdue=int(row.get("actions_overdue", 0)),
                actions_declined=int(row.get("actions_declined", 0)),
            )
        )
    listed.sort(key=lambda figures: (figures.agency.name.casefold(), str(figures.agency.id)))
    family = FamilyFigures(
        speaking_seconds=round(family_seconds),
        speaking_share=share(family_seconds, total_seconds),
        items_present_not_heard=family_unheard,
        meetings_invited=family_invited,
        meetings_attended=family_attended,
    )
    return Insights(
        period=period,
        agencies=listed,
        family=family,
        meetings_held=meetings_held,
        timescales=timescales or TimescaleFigures(),
        minutes=minutes or MinutesFigures(),
    )


# --- the CSV ----------------------------------------------------------------------------------

CSV_HEADER = (
    "agency",
    "sector",
    "meetings_invited",
    "meetings_attended",
    "reports_expected",
    "reports_on_time",
    "speaking_seconds",
    "speaking_share",
    "items_present_not_heard",
    "actions_assigned",
    "actions_done_on_time",
    "actions_overdue",
    "actions_declined",
)


def csv_rows(insights: Insights) -> list[list[object]]:
    """One row per agency, then one for the family (its meetings, speaking and voice figures),
    then, after an empty row, the statutory timescales."""

    def number(value: float | None) -> object:
        return "" if value is None else value

    rows: list[list[object]] = [
        [
            figures.agency.name,
            figures.agency.sector,
            figures.meetings_invited,
            figures.meetings_attended,
            figures.reports_expected,
            figures.reports_on_time,
            figures.speaking_seconds,
            number(figures.speaking_share),
            figures.items_present_not_heard,
            figures.actions_assigned,
            figures.actions_done_on_time,
            figures.actions_overdue,
            figures.actions_declined,
        ]
        for figures in insights.agencies
    ]
    family = insights.family
    rows.append(
        [
            "Family (all families together)",
            FAMILY_SECTOR,
            family.meetings_invited,
            family.meetings_attended,
            "",
            "",
            family.speaking_seconds,
            number(family.speaking_share),
            family.items_present_not_heard,
            "",
            "",
            "",
            "",
        ]
    )
    timescales = insights.timescales
    rows += [
        [],
        ["statutory_timescales", "met", "met_late", "overdue"],
        ["every case in the period", timescales.met, timescales.met_late, timescales.overdue],
        [],
        ["minutes", "approved_within_15_working_days", "late", "draft_within_limit"],
        ["meetings ended in the period", insights.minutes.on_time, insights.minutes.late, insights.minutes.pending],
    ]
    return rows
