"""Reading a case's audit trail: administrators and the case's chair only; reading it is audited."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import Action
from server.audit.models import AuditEvent
from server.audit.service import Actor, record
from server.audit.words import Event, Names, describe, ids_to_name
from server.cases.models import CaseRole
from server.cases.service import VisibleCase, visible_case
from server.errors import Forbidden
from server.exports import csv_text
from server.meetings.models import AgendaItem, Meeting
from server.people.models import User
from server.platform.db import transaction
from server.timeutil import zone

MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class TrailFilter:
    verb: str | None = None
    actor_id: uuid.UUID | None = None
    since: date | None = None
    until: date | None = None


PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class TrailPage:
    rows: Sequence[AuditEvent]
    total: int
    page: int
    pages: int
    names: Names

    def sentence(self, row: AuditEvent) -> str:
        return describe(event_of(row), self.names)


async def readable_trail(
    session: AsyncSession, actor: Actor, user: User, case_id: uuid.UUID, filters: TrailFilter, *, page: int = 1
) -> TrailPage:
    """One page of the trail, newest first, with the names its sentences need."""
    visible = await _readable_case(session, user, case_id)
    total = int(await session.scalar(select(func.count()).select_from(_query(case_id, filters).subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = await case_trail(session, actor, user, case_id, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    names = await names_for(session, rows, content=visible.access.can_see_content)
    return TrailPage(rows, total, page, pages, names)


async def names_for(session: AsyncSession, rows: Sequence[AuditEvent], *, content: bool) -> Names:
    """What the people, meetings, actions and agenda items these events mention are called."""
    ids: set[uuid.UUID] = set()
    for row in rows:
        for value in {*ids_to_name(event_of(row)), str(row.actor_id or "")}:
            with contextlib.suppress(ValueError):
                ids.add(uuid.UUID(value))
    found: dict[str, str] = {}
    if ids:
        for model, column in (
            (User, User.name),
            (Meeting, Meeting.title),
            (Action, Action.title),
            (AgendaItem, AgendaItem.title),
        ):
            for key, name in await session.execute(select(model.id, column).where(model.id.in_(ids))):
                found[str(key)] = name
    return Names(found, content)


def event_of(row: AuditEvent) -> Event:
    return Event(
        row.verb, row.object_type, row.object_id, None if row.meeting_id is None else str(row.meeting_id), row.detail
    )


async def _readable_case(session: AsyncSession, user: User, case_id: uuid.UUID) -> VisibleCase:
    visible = await visible_case(session, user, case_id)
    if not (user.is_admin or visible.access.role is CaseRole.CHAIR):
        raise Forbidden("Only the case's chair and administrators can read its audit trail.")
    return visible


def _query(case_id: uuid.UUID, filters: TrailFilter) -> Select[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.case_id == case_id)
    if filters.verb:
        query = query.where(AuditEvent.verb.startswith(filters.verb, autoescape=True))
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(), tzinfo=zone()))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), tzinfo=zone()))
    return query


async def case_trail(
    session: AsyncSession,
    actor: Actor,
    user: User,
    case_id: uuid.UUID,
    filters: TrailFilter,
    *,
    export: bool = False,
    limit: int = MAX_ROWS,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    await _readable_case(session, user, case_id)
    query = _query(case_id, filters).order_by(AuditEvent.id.desc()).offset(offset).limit(min(limit, MAX_ROWS))
    rows = (await session.scalars(query)).all()
    async with transaction(session):
        record(session, actor, "audit.export" if export else "audit.view", "case", case_id, case_id=case_id)
    return rows


def trail_csv(rows: Sequence[AuditEvent], names: dict[uuid.UUID, str], words: Names | None = None) -> str:
    header = ["when", "who", "what", "object", "object id", "meeting id", "address", "detail", "in words"]
    return csv_text(
        header,
        (
            [
                row.at.isoformat(),
                names.get(row.actor_id, "") if row.actor_id else "system",
                row.verb,
                row.object_type,
                row.object_id,
                row.meeting_id,
                row.ip,
                "; ".join(f"{k}={v}" for k, v in sorted(row.detail.items())),
                describe(event_of(row), words) if words else "",
            ]
            for row in rows
        ),
    )
