"""The conference outcome as the minutes and the outcome letter record it.

The outcome (a child protection plan or not, its categories, the reasons, each agency's view)
is shared with the family: it is the decision about their child, and dissent is part of it. It
is read from its own table (server/conference/models.py), one query with its views."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.conference.models import ConferenceOutcome
from server.minutes.shapes import OutcomeRecord, OutcomeViewRecord
from server.shapes import iso

CATEGORY_LABELS = {
    "neglect": "Neglect",
    "physical_abuse": "Physical abuse",
    "emotional_abuse": "Emotional abuse",
    "sexual_abuse": "Sexual abuse",
}
VIEW_LABELS = {"plan": "A child protection plan", "no_plan": "No child protection plan"}


def outcome_record(outcome: ConferenceOutcome) -> OutcomeRecord:
    decided = "plan" if outcome.plan else "no_plan"
    views = sorted(outcome.views, key=lambda v: v.agency.name.casefold())
    return OutcomeRecord(
        plan=outcome.plan,
        plan_label=VIEW_LABELS[decided],
        categories=list(outcome.categories),
        category_labels=[CATEGORY_LABELS.get(c, c) for c in outcome.categories],
        reasons=outcome.reasons,
        recorded_at=iso(outcome.recorded_at),
        views=[
            OutcomeViewRecord(
                agency=v.agency.name,
                view=v.view,
                view_label=VIEW_LABELS.get(v.view, v.view),
                reason=v.reason or None,
                dissents=v.view != decided,
            )
            for v in views
        ],
    )


async def read_outcome(session: AsyncSession, meeting_id: uuid.UUID) -> OutcomeRecord | None:
    outcome = await session.get(ConferenceOutcome, meeting_id, populate_existing=True)
    return None if outcome is None else outcome_record(outcome)
