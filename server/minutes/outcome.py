"""The conference outcome as the outcome letter records it (the minutes carry the room's own shape).

The outcome (a child protection plan or not, its categories, the reasons, each agency's view)
is shared with the family: it is the decision about their child, and dissent is part of it. It
comes with the room (server/conference/state.py), read once with everything else."""

from __future__ import annotations

from server.conference.models import Category, ConferenceOutcome, View
from server.minutes.shapes import OutcomeRecord, OutcomeViewRecord
from server.shapes import iso


def outcome_record(outcome: ConferenceOutcome) -> OutcomeRecord:
    decided = View.PLAN if outcome.plan else View.NO_PLAN
    views = sorted(outcome.views, key=lambda v: v.agency.name.casefold())
    return OutcomeRecord(
        plan=outcome.plan,
        plan_label=decided.label,
        categories=list(outcome.categories),
        category_labels=[Category(c).label for c in outcome.categories],
        reasons=outcome.reasons,
        recorded_at=iso(outcome.recorded_at),
        views=[
            OutcomeViewRecord(
                agency=v.agency.name,
                view=v.view,
                view_label=View(v.view).label,
                reason=v.reason or None,
                dissents=v.view != decided,
            )
            for v in views
        ],
    )
