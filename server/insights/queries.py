"""The SQL aggregates behind the insights: a handful of GROUP BY statements answering counts per
agency. Nothing per case or per person leaves the database, and nothing with text in it is read
(no title, no name but the agencies', which ``rules.shape`` keeps out for family agencies).

An ended meeting is counted once, in one INSERT ... SELECT over its attendance, turns and agenda
items (``COUNT_MEETINGS``, into ``insight_meetings`` and ``insight_meeting_agencies``), the first
time a reading covers it; readings add those rows up. Going over every turn of a year on every
reading took 1.3-2 s at the benchmark's scale on this machine; adding up the counted rows takes
about 0.1 s (bench/README.md, "Partnership insights", with the plans). Actions change after
their meeting (done, declined, overdue), so they are counted afresh each time.

Periods are instants [start, end) compared with indexed timestamps rather than each row's local
date, so that the planner can use the indexes of migration 0012.

Definitions (the page and bench/README.md say the same):

* a meeting counts when it ended in the period (``status = 'ended'``);
* an agency is *invited* to it when someone of that agency was on the case's team when it
  ended (or attended it); it *attended* when someone of it joined;
* *speaking seconds* are the finished turns in those meetings;
* *present but not heard*: for each agenda item opened in those meetings and each agency that
  attended, the agency had no turn on it (the family is not counted on items for professionals
  only, which it does not see);
* actions count when they were agreed (created) in the period, under the agency that owns them
  now; *done on time* is done on or before the due date (local), *overdue* still open after it
  today; *declined* counts the actions someone of the agency declined.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.actions.chase import ChaseSettings
from server.insights.rules import AgencyInfo
from server.reports import rules as report_rules

NEW_MEETING_DAYS = """
SELECT DISTINCT m.kind, (m.scheduled_at AT TIME ZONE :zone)::date AS day
FROM meetings m
WHERE m.status = 'ended' AND m.ended_at >= :start AND m.ended_at < :end {case}
  AND NOT EXISTS (SELECT 1 FROM insight_meetings c WHERE c.meeting_id = m.id)
"""
"""The kinds and local days of the meetings to count: their reports' due dates are worked out
from them by the report rules (working days), and handed to COUNT_MEETINGS."""

_TODO = """
    SELECT m.id, m.case_id, m.ended_at, d.due_on
    FROM meetings m
    JOIN unnest(CAST(:due_kinds AS text[]), CAST(:due_days AS date[]), CAST(:due_ons AS date[]))
         AS d(kind, day, due_on)
      ON d.kind = m.kind AND d.day = (m.scheduled_at AT TIME ZONE :zone)::date
    WHERE m.status = 'ended' AND m.ended_at >= :start AND m.ended_at < :end {case}
      AND NOT EXISTS (SELECT 1 FROM insight_meetings c WHERE c.meeting_id = m.id)
"""

COUNT_MEETINGS = f"""
WITH todo AS MATERIALIZED ({_TODO}),
marked AS (
    INSERT INTO insight_meetings (meeting_id, case_id, ended_at, counted_at)
    SELECT id, case_id, ended_at, now() FROM todo
    ON CONFLICT DO NOTHING
    RETURNING meeting_id
),
team AS (
    SELECT DISTINCT t.id AS meeting_id, u.agency_id
    FROM todo t
    JOIN case_members cm ON cm.case_id = t.case_id AND cm.added_at <= t.ended_at
    JOIN users u ON u.id = cm.user_id
),
present AS (
    SELECT DISTINCT a.meeting_id, a.agency_id FROM attendance a JOIN todo t ON t.id = a.meeting_id
),
items AS (
    SELECT i.meeting_id, count(*) AS opened, count(*) FILTER (WHERE NOT i.professionals_only) AS opened_for_family
    FROM agenda_items i JOIN todo t ON t.id = i.meeting_id
    WHERE i.opened_at IS NOT NULL
    GROUP BY i.meeting_id
),
spoken AS (
    SELECT tu.meeting_id, tu.agency_id,
           sum(GREATEST(date_part('epoch', tu.ended_at - tu.started_at), 0)) FILTER (WHERE tu.ended_at IS NOT NULL)
               AS seconds,
           count(DISTINCT tu.agenda_item_id) FILTER (
               WHERE i.opened_at IS NOT NULL AND NOT (i.professionals_only AND g.sector = 'family')
           ) AS heard
    FROM turns tu
    JOIN todo t ON t.id = tu.meeting_id
    JOIN agencies g ON g.id = tu.agency_id
    LEFT JOIN agenda_items i ON i.id = tu.agenda_item_id
    GROUP BY tu.meeting_id, tu.agency_id
),
pairs AS (
    SELECT coalesce(team.meeting_id, present.meeting_id) AS meeting_id,
           coalesce(team.agency_id, present.agency_id) AS agency_id,
           present.meeting_id IS NOT NULL AS attended
    FROM team FULL JOIN present ON present.meeting_id = team.meeting_id AND present.agency_id = team.agency_id
),
expected AS (
    SELECT DISTINCT t.id AS meeting_id, u.agency_id
    FROM todo t
    JOIN case_members cm ON cm.case_id = t.case_id AND cm.added_at <= t.ended_at AND cm.role = 'professional'
    JOIN users u ON u.id = cm.user_id
),
on_time AS (
    SELECT r.meeting_id, r.agency_id
    FROM reports r JOIN todo t ON t.id = r.meeting_id
    WHERE (r.submitted_at AT TIME ZONE :zone)::date <= t.due_on
)
INSERT INTO insight_meeting_agencies (
    meeting_id, agency_id, attended, speaking_seconds, items_present_not_heard, report_expected, report_on_time
)
SELECT p.meeting_id, p.agency_id, p.attended, coalesce(s.seconds, 0),
       CASE WHEN NOT p.attended THEN 0
            ELSE GREATEST(
                CASE WHEN g.sector = 'family' THEN coalesce(items.opened_for_family, 0)
                     ELSE coalesce(items.opened, 0) END
                - coalesce(s.heard, 0),
                0)
       END,
       e.meeting_id IS NOT NULL,
       e.meeting_id IS NOT NULL AND o.meeting_id IS NOT NULL
FROM pairs p
JOIN marked ON marked.meeting_id = p.meeting_id
LEFT JOIN expected e ON e.meeting_id = p.meeting_id AND e.agency_id = p.agency_id
LEFT JOIN on_time o ON o.meeting_id = p.meeting_id AND o.agency_id = p.agency_id
JOIN agencies g ON g.id = p.agency_id
LEFT JOIN items ON items.meeting_id = p.meeting_id
LEFT JOIN spoken s ON s.meeting_id = p.meeting_id AND s.agency_id = p.agency_id
"""  # noqa: S608 (module constants only; every value is a bound parameter)
"""Count the ended meetings of the scope not counted yet, in one statement: mark them (a
concurrent reading that marked one first wins, and this one leaves it alone) and write a row
per agency invited. Items for professionals only do not count for the family. A report is
expected of each agency with a professional on the team (the report rules' own definition; a
chair alone, or the family, is not chased for one) and on time when it was in by its due date,
a local date given per kind and day of meeting."""

MEETINGS = """
SELECT r.agency_id,
       count(*) AS meetings_invited,
       count(*) FILTER (WHERE r.attended) AS meetings_attended,
       sum(r.speaking_seconds) AS speaking_seconds,
       sum(r.items_present_not_heard) AS items_present_not_heard,
       count(*) FILTER (WHERE r.report_expected) AS reports_expected,
       count(*) FILTER (WHERE r.report_on_time) AS reports_on_time
FROM insight_meetings c
JOIN insight_meeting_agencies r ON r.meeting_id = c.meeting_id
WHERE c.ended_at >= :start AND c.ended_at < :end {case}
GROUP BY r.agency_id
"""

MEETINGS_HELD = "SELECT count(*) FROM insight_meetings c WHERE c.ended_at >= :start AND c.ended_at < :end {case}"

ACTIONS = """
SELECT a.agency_id,
       count(*) AS actions_assigned,
       count(*) FILTER (
           WHERE a.status = 'done' AND a.closed_at IS NOT NULL
             AND (a.closed_at AT TIME ZONE :zone)::date <= a.due_date
       ) AS actions_done_on_time,
       count(*) FILTER (
           WHERE a.status IN ('open', 'in_progress', 'blocked') AND a.due_date < :today
       ) AS actions_overdue
FROM actions a
WHERE a.created_at >= :start AND a.created_at < :end {case}
GROUP BY a.agency_id
"""

DECLINED = """
SELECT u.agency_id, count(DISTINCT e.action_id) AS actions_declined
FROM action_events e
JOIN actions a ON a.id = e.action_id
JOIN users u ON u.id = e.actor_id
WHERE e.kind = 'declined' AND a.created_at >= :start AND a.created_at < :end {case}
GROUP BY u.agency_id
"""

MINUTES = """
SELECT (r.drafted_at AT TIME ZONE :zone)::date AS drafted_on,
       (r.approved_at AT TIME ZONE :zone)::date AS approved_on,
       count(*) AS n
FROM insight_meetings c
JOIN minutes_reviews r ON r.meeting_id = c.meeting_id
WHERE c.ended_at >= :start AND c.ended_at < :end {case}
GROUP BY 1, 2
"""
"""The counted meetings' minutes by the local day the draft was made (the meeting's end: the day
the chase and the approval's audit row count the limit from) and the day they were approved
(none while a draft): a few thousand rows for a year, which ``rules.minutes_figures`` measures
against the working-day limit."""

AGENCIES = "SELECT id, name, sector FROM agencies WHERE id = ANY(:ids)"

STATEMENTS: Mapping[str, str] = {
    "meetings": MEETINGS,
    "actions": ACTIONS,
    "declined": DECLINED,
}
"""Each statement answers an agency_id column and counts named like ``rules.COUNTS``."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What to count: instants [start, end), today's local date for "overdue", the time zone
    for "on time", and one case or all of them."""

    start: datetime
    end: datetime
    today: date
    calendar: ChaseSettings
    case_id: uuid.UUID | None = None

    @property
    def zone(self) -> str:
        return self.calendar.timezone

    def params(self) -> dict[str, Any]:
        found: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.case_id is not None:
            found["case_id"] = self.case_id
        return found


def sql(template: str, scope: Scope, alias: str) -> str:
    """The statement for this scope: the case filter is written in only for one case (not a
    ``(:case IS NULL OR ...)`` that would cost every partnership-wide plan its indexes)."""
    case = f"AND {alias}.case_id = :case_id" if scope.case_id is not None else ""
    return template.format(case=case)


@dataclass(frozen=True, slots=True)
class Counted:
    counts: dict[uuid.UUID, dict[str, float]]
    agencies: list[AgencyInfo]
    meetings_held: int
    minutes: list[tuple[date, date | None, int]]


async def count(engine: AsyncEngine, scope: Scope) -> Counted:
    """Every count of the scope, per agency, and the agencies named in them. The statements run
    at once, each on a connection of its own (they read different tables: PostgreSQL works on
    them side by side), after ``count_new_meetings`` has committed."""
    base = scope.params()
    extra = {"actions": {"zone": scope.zone, "today": scope.today}}

    async def rows(statement: str, params: dict[str, Any]) -> list[Any]:
        async with AsyncSession(engine) as session:
            return list((await session.execute(text(statement), params)).mappings())

    *per_agency, held, minutes = await asyncio.gather(
        *(
            rows(sql(template, scope, "a" if name in ("actions", "declined") else "c"), {**base, **extra.get(name, {})})
            for name, template in STATEMENTS.items()
        ),
        rows(sql(MEETINGS_HELD, scope, "c"), base),
        rows(sql(MINUTES, scope, "c"), {**base, "zone": scope.zone}),
    )
    counts: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    for result in per_agency:
        for row in result:
            agency_id = row["agency_id"]
            if agency_id is None:
                continue
            for key, value in row.items():
                if key != "agency_id":
                    counts[agency_id][key] = float(value or 0)
    async with AsyncSession(engine) as session:
        named = await agencies(session, counts)
    reviews = [(row["drafted_on"], row["approved_on"], int(row["n"])) for row in minutes]
    return Counted(dict(counts), named, int(held[0]["count"] or 0), reviews)


async def new_meeting_params(session: AsyncSession, scope: Scope) -> dict[str, Any] | None:
    """COUNT_MEETINGS's parameters: the scope, and the reports' due date of each kind and day of
    the meetings to count; None when every meeting of the scope is counted already."""
    params = {**scope.params(), "zone": scope.zone}
    days = (await session.execute(text(sql(NEW_MEETING_DAYS, scope, "m")), params)).all()
    if not days:
        return None
    due = [(kind, day, report_rules.due_on(kind, day, scope.calendar)) for kind, day in days]
    return {
        **params,
        "due_kinds": [kind for kind, _, _ in due],
        "due_days": [day for _, day, _ in due],
        "due_ons": [on for _, _, on in due],
    }


async def count_new_meetings(session: AsyncSession, scope: Scope) -> None:
    """Count the scope's ended meetings that are not counted yet (none, most of the time),
    inside the caller's transaction."""
    params = await new_meeting_params(session, scope)
    if params is not None:
        await session.execute(text(sql(COUNT_MEETINGS, scope, "m")), params)


async def agencies(session: AsyncSession, ids: Iterable[uuid.UUID]) -> list[AgencyInfo]:
    wanted = list(ids)
    if not wanted:
        return []
    rows = await session.execute(text(AGENCIES), {"ids": wanted})
    return [AgencyInfo(row.id, row.name, row.sector) for row in rows]
