"""Reading a case's audit trail: administrators and the case's chair only; reading it is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEvent
from server.audit.service import Actor, record
from server.cases.models import CaseRole
from server.cases.service import visible_case
from server.errors import Forbidden
from server.exports import csv_text
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


async def case_trail(
    session: AsyncSession, actor: Actor, user: User, case_id: uuid.UUID, filters: TrailFilter, *, export: bool = False
) -> Sequence[AuditEvent]:
    visible = await visible_case(session, user, case_id)
    if not (user.is_admin or visible.access.role is CaseRole.CHAIR):
        raise Forbidden("Only the case's chair and administrators can read its audit trail.")
    query = select(AuditEvent).where(AuditEvent.case_id == case_id)
    if filters.verb:
        query = query.where(AuditEvent.verb.startswith(filters.verb, autoescape=True))
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(), tzinfo=zone()))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), tzinfo=zone()))
    rows = (await session.scalars(query.order_by(AuditEvent.id.desc()).limit(MAX_ROWS))).all()
    async with transaction(session):
        record(session, actor, "audit.export" if export else "audit.view", "case", case_id, case_id=case_id)
    return rows


def trail_csv(rows: Sequence[AuditEvent], names: dict[uuid.UUID, str]) -> str:
    header = ["when", "who", "what", "object", "object id", "meeting id", "address", "detail"]
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
            ]
            for row in rows
        ),
    )
