"""Reading a case's statutory timescales: its meetings and conference outcomes, given to the pure
rules in timescales.py. One query for one case, one for many (My cases, the chase)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.cases.timescales import MeetingFacts, Milestone, TimescaleSettings, milestones
from server.conference.models import ConferenceOutcome
from server.meetings.models import Meeting

TIMED_KINDS = ("strategy", "initial_conference", "core_group", "review_conference", "tac")


async def facts_of(
    session: AsyncSession, case_ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[MeetingFacts]]:
    """Each case's meetings of the timed kinds, with the conference outcome's plan (None for all
    cases). Cases without such meetings are left out."""
    query = (
        select(
            Meeting.case_id,
            Meeting.id,
            Meeting.kind,
            Meeting.status,
            Meeting.scheduled_at,
            Meeting.ended_at,
            ConferenceOutcome.plan,
        )
        .outerjoin(ConferenceOutcome, ConferenceOutcome.meeting_id == Meeting.id)
        .where(Meeting.kind.in_(TIMED_KINDS), Meeting.status != "cancelled")
    )
    if case_ids is not None:
        query = query.where(Meeting.case_id.in_(list(case_ids)))
    found: dict[uuid.UUID, list[MeetingFacts]] = defaultdict(list)
    for case_id, meeting_id, kind, status, scheduled_at, ended_at, plan in await session.execute(query):
        found[case_id].append(MeetingFacts(meeting_id, kind, status, scheduled_at, ended_at, plan))
    return dict(found)


async def case_milestones(
    session: AsyncSession, case_id: uuid.UUID, today: date, settings: TimescaleSettings
) -> list[Milestone]:
    facts = await facts_of(session, [case_id])
    return milestones(facts.get(case_id, []), today, settings)


async def open_milestones(
    session: AsyncSession, case_ids: Collection[uuid.UUID], today: date, settings: TimescaleSettings
) -> dict[uuid.UUID, list[Milestone]]:
    """For My cases: each case's milestones that are not yet met."""
    if not case_ids:
        return {}
    return {
        case_id: [m for m in milestones(facts, today, settings) if m.is_open]
        for case_id, facts in (await facts_of(session, case_ids)).items()
    }
