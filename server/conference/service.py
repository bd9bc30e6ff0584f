"""Reading the case's scales across its meetings: every revealed question, oldest first, with
each score, so the case page and GET /api/cases/{case_id}/scales show how the scores moved. A
family member sees none asked under a professionals-only item."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.cases.service import visible_case
from server.conference.models import Scale
from server.conference.shapes import CaseScale, CaseScales, scale_fields
from server.conference.state import ScaleView
from server.meetings.models import AgendaItem, Meeting
from server.people.models import User
from server.shapes import iso_or_none


async def case_scales(session: AsyncSession, user: User, case_id: uuid.UUID) -> CaseScales:
    visible = await visible_case(session, user, case_id, content=True)
    rows = (
        await session.execute(
            select(Scale, Meeting, AgendaItem.professionals_only)
            .join(Meeting, Meeting.id == Scale.meeting_id)
            .outerjoin(AgendaItem, AgendaItem.id == Scale.agenda_item_id)
            .where(Meeting.case_id == case_id, Scale.status == "revealed")
            .order_by(Scale.revealed_at)
        )
    ).all()
    scales = []
    for scale, meeting, professionals_only in rows:
        if professionals_only and not visible.access.sees_professionals_only:
            continue
        fields = scale_fields(ScaleView(scale, len(scale.scores), list(scale.scores)))
        scales.append(
            CaseScale(
                **fields,  # type: ignore[arg-type]
                meeting_id=meeting.id,
                meeting_title=meeting.title,
                held_on=iso_or_none(meeting.ended_at or meeting.started_at),
            )
        )
    return CaseScales(scales=scales)


@dataclass(frozen=True, slots=True)
class Trend:
    """One question's scores across meetings, for the case page: per meeting, the scores."""

    question: str
    points: list[CaseScale]


def trends(found: CaseScales) -> list[Trend]:
    """Questions asked in more than one meeting read as one line: grouped by their words."""
    grouped: dict[str, list[CaseScale]] = defaultdict(list)
    for scale in found.scales:
        grouped[scale.question.strip().casefold()].append(scale)
    return [Trend(points[0].question, points) for points in grouped.values()]
