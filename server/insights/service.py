"""Reading the insights: who may, over which period, and the audit row that says they did.

The partnership-wide figures are for administrators and people with the insights permission;
one case's figures are for that case's team (anyone else gets 404, as for everything of a case
they may not see). Every reading and every download is in the audit trail."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.audit.service import Actor, record
from server.cases.milestones import facts_of
from server.cases.service import visible_case
from server.cases.timescales import MeetingFacts, milestones
from server.config import Settings
from server.errors import Forbidden, Problems
from server.insights import queries
from server.insights.rules import (
    Insights,
    Period,
    default_period,
    may_read_insights,
    minutes_figures,
    period_problems,
    shape,
    timescale_figures,
)
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


async def read(session: AsyncSession, settings: Settings, period: Period, case_id: uuid.UUID | None = None) -> Insights:
    """The figures of a period (of one case), counting first the meetings not counted yet, in
    one transaction (what every reading does; the benchmark times exactly this). Timescales are
    the timescale rules over each case's meetings (``cases.milestones``), counted by due date."""
    start, end = period.bounds(zone())
    today = today_local()
    scope = queries.Scope(start, end, today, settings.chase, case_id)
    async with transaction(session):
        await queries.count_new_meetings(session, scope)
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    counted, facts = await asyncio.gather(queries.count(engine, scope), _timescale_facts(engine, case_id))
    rules = settings.timescales
    found = (m for history in facts.values() for m in milestones(history, today, rules))
    return shape(
        period,
        counted.agencies,
        counted.counts,
        meetings_held=counted.meetings_held,
        timescales=timescale_figures(found, period),
        minutes=minutes_figures(counted.minutes, today, settings.minutes_escalate_working_days, settings.chase),
    )


async def _timescale_facts(engine: AsyncEngine, case_id: uuid.UUID | None) -> dict[uuid.UUID, list[MeetingFacts]]:
    async with AsyncSession(engine) as session:
        return await facts_of(session, None if case_id is None else [case_id])


async def partnership(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    user: User,
    period: Period,
    *,
    via: str,
    export: bool = False,
) -> Insights:
    """Every case's figures for the period (administrators and insights readers)."""
    require_reader(user)
    insights = await read(session, settings, period, None)
    async with transaction(session):
        verb = "insights.export" if export else "insights.view"
        record(session, actor, verb, "insights", None, via=via, first=period.first, last=period.last)
    return insights


async def for_case(
    session: AsyncSession, settings: Settings, actor: Actor, user: User, case_id: uuid.UUID, period: Period, *, via: str
) -> Insights:
    """One case's figures, for its team."""
    await visible_case(session, user, case_id, content=True)
    insights = await read(session, settings, period, case_id)
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
