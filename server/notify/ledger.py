"""The chase ledger for things other than actions (milestones, reports, ...).

Actions keep their own ledger (``reminder_ledger``, keyed by action). Everything else the
worker chases is named by a text key, ``subject`` (``"timescale:<case>:<kind>:<due_on>"``,
``"report:<meeting>:<agency>"``), and a ``stage``; the unique pair makes each stage happen once
with any number of workers or after a crash: a pass inserts with ON CONFLICT DO NOTHING
RETURNING and tells people only about the rows it inserted, in the same transaction as the
outbox e-mail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.platform.db import Base, utcnow


class ChaseLedger(Base):
    __tablename__ = "chase_ledger"
    __table_args__ = (UniqueConstraint("subject", "stage", name="uq_chase_ledger_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def claim(session: AsyncSession, wanted: Sequence[tuple[str, str, uuid.UUID | None]]) -> set[tuple[str, str]]:
    """Insert ``(subject, stage, case_id)`` rows in key order (concurrent passes cannot
    deadlock) and answer the ``(subject, stage)`` pairs this call inserted: only those may be
    sent."""
    if not wanted:
        return set()
    rows = sorted({(s, st): c for s, st, c in wanted}.items())
    statement = (
        insert(ChaseLedger)
        .values([{"subject": s, "stage": st, "case_id": c} for (s, st), c in rows])
        .on_conflict_do_nothing(constraint="uq_chase_ledger_key")
        .returning(ChaseLedger.subject, ChaseLedger.stage)
    )
    return {(subject, stage) for subject, stage in await session.execute(statement)}
