"""Reading the insights: who may, over which period, and the audit row that says they did.

The partnership-wide figures are for administrators and people with the insights permission;
one case's figures are for that case's team (anyone else gets 404, as for everything of a case
they may not see). Every reading and every download is in the audit trail."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.cases.service import visible_case
from server.errors import Forbidden, Problems
from server.insights import queries
from server.insights.rules import Insights, Period, default_period, may_read_insights, period_problems, shape
from server.people.models import User
from server.platform.db import transaction
from server.timeutil import today_local, zone


def require_reader(user: User) -> None:
    if not may_read_insights(is_admin=user.is_admin, can_see_insights=user.can_see_insights, sector=user.agency.sector):
        raise Forbidden(
            "The partnership insights are for administrators and people given the insights permission.",
            code="insights_not_allowed",
        )


def choose_period(first: date | None, last: date | None, today: date | None = None) -> Period:
    """The period asked for; a missing end is today, a missing start twelve months before it."""
    today = today or today_local()
    last = last or today
    first = first or default_period(last).first
    if problems := period_problems(first, last):
        raise Problems(problems)
    return Period(first, last)


async def _read(session: AsyncSession, period: Period, case_id: uuid.UUID | None) -> Insights:
    start, end = period.bounds(zone())
    scope = queries.Scope(start, end, today_local(), zone().key, case_id)
    async with transaction(session):
        counted = await queries.count(session, scope)
    return shape(period, counted.agencies, counted.counts, meetings_held=counted.meetings_held)


async def partnership(
    session: AsyncSession, actor: Actor, user: User, period: Period, *, via: str, export: bool = False
) -> Insights:
    """Every case's figures for the period (administrators and insights readers)."""
    require_reader(user)
    insights = await _read(session, period, None)
    async with transaction(session):
        verb = "insights.export" if export else "insights.view"
        record(session, actor, verb, "insights", None, via=via, first=period.first, last=period.last)
    return insights


async def for_case(
    session: AsyncSession, actor: Actor, user: User, case_id: uuid.UUID, period: Period, *, via: str
) -> Insights:
    """One case's figures, for its team."""
    await visible_case(session, user, case_id, content=True)
    insights = await _read(session, period, case_id)
    async with transaction(session):
        record(
            session,
            actor,
            "insights.view",
            "case",
            case_id,
            case_id=case_id,
            via=via,
            first=period.first,
            last=period.last,
        )
    return insights
