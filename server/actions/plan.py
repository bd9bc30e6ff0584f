"""The action plan of a case, filtered, and its CSV export: acceptance is shown in words, so a
declined action never reads as simply "open"."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import CLOSED_STATUSES, OPEN_STATUSES, Acceptance, Action, ActionStatus, OutcomeArea
from server.errors import Invalid
from server.exports import csv_text

STATUS_FILTERS = ("open", "overdue", "done")


@dataclass(frozen=True, slots=True)
class PlanFilter:
    """What the action plan page and its CSV export show."""

    state: str = "open"  # open, closed, done or all
    overdue: bool = False
    owner_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    outcome_area: str | None = None


async def action_plan(
    session: AsyncSession, case_id: uuid.UUID, plan: PlanFilter, *, today: date, include_professionals_only: bool
) -> Sequence[Action]:
    query = select(Action).where(Action.case_id == case_id)
    if not include_professionals_only:
        query = query.where(Action.professionals_only.is_(False))
    if plan.state == "open":
        query = query.where(Action.status.in_(OPEN_STATUSES))
    elif plan.state == "done":
        query = query.where(Action.status == ActionStatus.DONE)
    elif plan.state == "closed":
        query = query.where(Action.status.in_(CLOSED_STATUSES))
    if plan.overdue:
        query = query.where(Action.status.in_(OPEN_STATUSES), Action.due_date < today)
    if plan.owner_id:
        query = query.where(Action.owner_id == plan.owner_id)
    if plan.agency_id:
        query = query.where(Action.agency_id == plan.agency_id)
    if plan.outcome_area:
        query = query.where(Action.outcome_area == plan.outcome_area)
    return (await session.scalars(query.order_by(Action.due_date, Action.created_at))).all()


def plan_csv(actions: Sequence[Action], today: date) -> str:
    header = ["action", "owner", "agency", "outcome area", "due date", "status", "accepted", "overdue"]
    return csv_text(
        header,
        (
            [
                a.title,
                a.owner.name,
                a.agency.name,
                OutcomeArea(a.outcome_area).label,
                a.due_date.isoformat(),
                a.status,
                Acceptance(a.acceptance).label if a.status in OPEN_STATUSES else "",
                "yes" if a.status in OPEN_STATUSES and a.due_date < today else "",
            ]
            for a in actions
        ),
    )


def api_filter(status: str | None) -> PlanFilter:
    """The API's ?status= (open, overdue or done; none for all) as an action plan filter."""
    if status is None:
        return PlanFilter(state="all")
    if status not in STATUS_FILTERS:
        raise Invalid("status must be open, overdue or done.", field="status", code="unknown_status")
    return PlanFilter(state="done" if status == "done" else "open", overdue=status == "overdue")
