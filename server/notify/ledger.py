"""The chase ledger for things other than actions (milestones, reports, ...).

Actions keep their own ledger (``reminder_ledger``, keyed by action). Everything else the
worker chases is named by a text key, ``subject`` (``"timescale:<case>:<kind>:<due_on>"``,
``"report:<meeting>:<agency>"``), and a ``stage``; the unique pair makes each stage happen once
with any number of workers or after a crash: a pass inserts with ON CONFLICT DO NOTHING
RETURNING and tells people only about the rows it inserted, in the same transaction as the
outbox e-mail."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.notify.notifications import Note, add
from server.notify.outbox import Email, enqueue_many
from server.people.models import User
from server.platform.db import Base, utcnow

if TYPE_CHECKING:
    from server.config import Settings


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


@dataclass(frozen=True, slots=True)
class Chased:
    """What one chase of milestones, reports (or minutes) did in its pass."""

    reminders: int = 0
    emails: int = 0
    recipients: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a person is told about in a chase e-mail: a line of words and a link (never the
    content, never a child's name)."""

    case_id: uuid.UUID
    title: str
    body: str
    link: str
    kind: str


async def tell(
    session: AsyncSession, settings: Settings, items: Mapping[uuid.UUID, Sequence[Item]], *, subject: str, lead: str
) -> Chased:
    """Inside the caller's transaction: an in-app notification per item, one e-mail per active
    person listing their items."""
    if not items:
        return Chased()
    for user_id, mine in items.items():
        for item in mine:
            add(session, Note(user_id, item.kind, item.title, item.body, item.link, item.case_id))
    people = (
        await session.execute(select(User.id, User.name, User.email).where(User.id.in_(list(items)), User.is_active))
    ).all()
    emails = []
    for user_id, name, address in people:
        lines = [f"Dear {name},", "", lead, ""]
        for item in items[user_id]:
            lines += [f"- {item.title}", f"  {item.body}", f"  {settings.base_url}{item.link}"]
        lines += ["", "Roundtable", ""]
        emails.append(Email([address], subject, "\n".join(lines)))
    await enqueue_many(session, settings, emails)
    return Chased(sum(len(v) for v in items.values()), len(emails), frozenset(items))
