"""Reading and changing actions. Every change is kept as history on the action."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import OPEN_STATUSES, Action
from server.errors import Invalid

STATUS_FILTERS = ("open", "overdue", "done")


def filter_actions(query, status: str | None, today: date):  # type: ignore[no-untyped-def]
    if status is None:
        return query
    if status not in STATUS_FILTERS:
        raise Invalid("status must be open, overdue or done.", field="status")
    if status == "open":
        return query.where(Action.status.in_(OPEN_STATUSES))
    if status == "overdue":
        return query.where(Action.status.in_(OPEN_STATUSES), Action.due_date < today)
    return query.where(Action.status == "done")


async def actions_of_case(
    session: AsyncSession,
    case_id: uuid.UUID,
    *,
    status: str | None,
    today: date,
    include_professionals_only: bool,
) -> Sequence[Action]:
    query = select(Action).where(Action.case_id == case_id)
    if not include_professionals_only:
        query = query.where(Action.professionals_only.is_(False))
    query = filter_actions(query, status, today).order_by(Action.due_date, Action.created_at)
    return (await session.scalars(query)).all()


async def open_actions_of_owner(session: AsyncSession, owner_id: uuid.UUID) -> Sequence[Action]:
    query = (
        select(Action).where(Action.owner_id == owner_id, Action.status.in_(OPEN_STATUSES)).order_by(Action.due_date)
    )
    return (await session.scalars(query)).all()
