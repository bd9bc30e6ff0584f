"""The SQL aggregates behind the insights: a handful of GROUP BY statements over a period's
meetings, turns, agenda items and actions, each answering counts per agency. Nothing per case
or per person leaves the database, and nothing with text in it is read (no title, no name but
the agencies', which ``rules.shape`` keeps out for family agencies).

Periods are instants [start, end) compared with indexed timestamps (``ended_at`` of ended
meetings, ``created_at`` of actions) rather than each row's local date, so the planner can use
the indexes of migration 0012; see bench/README.md ("Partnership insights") for the plans.

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

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.insights.rules import AgencyInfo

_MEETINGS = """
    SELECT m.id, m.case_id, m.ended_at FROM meetings m
    WHERE m.status = 'ended' AND m.ended_at >= :start AND m.ended_at < :end {case}
"""

_PRESENT = """
    SELECT DISTINCT a.meeting_id, a.agency_id FROM attendance a JOIN m ON m.id = a.meeting_id
"""

ATTENDANCE = f"""
WITH m AS MATERIALIZED ({_MEETINGS}),
present AS ({_PRESENT}),
invited AS (
    SELECT m.id AS meeting_id, u.agency_id
    FROM m
    JOIN case_members cm ON cm.case_id = m.case_id AND cm.added_at <= m.ended_at
    JOIN users u ON u.id = cm.user_id
    UNION
    SELECT meeting_id, agency_id FROM present
)
SELECT i.agency_id,
       count(*) AS meetings_invited,
       count(p.meeting_id) AS meetings_attended
FROM invited i
LEFT JOIN present p ON p.meeting_id = i.meeting_id AND p.agency_id = i.agency_id
GROUP BY i.agency_id
"""  # noqa: S608 (module constants only; every value is a bound parameter)

MEETINGS_HELD = f"SELECT count(*) FROM ({_MEETINGS}) m"  # noqa: S608 (constants; values are bound)

SPEAKING = f"""
WITH m AS MATERIALIZED ({_MEETINGS})
SELECT t.agency_id,
       sum(GREATEST(EXTRACT(EPOCH FROM t.ended_at - t.started_at), 0))::float8 AS speaking_seconds
FROM turns t JOIN m ON m.id = t.meeting_id
WHERE t.ended_at IS NOT NULL
GROUP BY t.agency_id
"""  # noqa: S608 (module constants only; every value is a bound parameter)

VOICE = f"""
WITH m AS MATERIALIZED ({_MEETINGS}),
present AS ({_PRESENT}),
items AS (
    SELECT i.id, i.meeting_id, i.professionals_only
    FROM agenda_items i JOIN m ON m.id = i.meeting_id
    WHERE i.opened_at IS NOT NULL
),
heard AS (
    SELECT DISTINCT t.agenda_item_id AS item_id, t.agency_id
    FROM turns t JOIN m ON m.id = t.meeting_id
    WHERE t.agenda_item_id IS NOT NULL
)
SELECT p.agency_id, count(*) AS items_present_not_heard
FROM present p
JOIN items ON items.meeting_id = p.meeting_id
JOIN agencies g ON g.id = p.agency_id
WHERE NOT (items.professionals_only AND g.sector = 'family')
  AND NOT EXISTS (SELECT 1 FROM heard h WHERE h.item_id = items.id AND h.agency_id = p.agency_id)
GROUP BY p.agency_id
"""  # noqa: S608 (module constants only; every value is a bound parameter)

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

AGENCIES = "SELECT id, name, sector FROM agencies WHERE id = ANY(:ids)"

STATEMENTS: Mapping[str, str] = {
    "attendance": ATTENDANCE,
    "speaking": SPEAKING,
    "voice": VOICE,
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
    zone: str
    case_id: uuid.UUID | None = None

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


async def count(session: AsyncSession, scope: Scope) -> Counted:
    """Every count of the scope, per agency, and the agencies named in them."""
    counts: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    base = scope.params()
    extra = {"actions": {"zone": scope.zone, "today": scope.today}}
    for name, template in STATEMENTS.items():
        alias = "a" if name in ("actions", "declined") else "m"
        statement = sql(template, scope, alias)
        result = await session.execute(text(statement), {**base, **extra.get(name, {})})
        for row in result.mappings():
            agency_id = row["agency_id"]
            if agency_id is None:
                continue
            for key, value in row.items():
                if key != "agency_id":
                    counts[agency_id][key] = float(value or 0)
    held = int(await session.scalar(text(sql(MEETINGS_HELD, scope, "m")), base) or 0)
    return Counted(dict(counts), await agencies(session, counts), held)


async def agencies(session: AsyncSession, ids: Iterable[uuid.UUID]) -> list[AgencyInfo]:
    wanted = list(ids)
    if not wanted:
        return []
    rows = await session.execute(text(AGENCIES), {"ids": wanted})
    return [AgencyInfo(row.id, row.name, row.sector) for row in rows]
