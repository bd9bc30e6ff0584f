"""In-app notifications: written in the caller's transaction, pushed to open pages after it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.notify.models import Notification
from server.platform.db import transaction, utcnow


@dataclass(frozen=True, slots=True)
class Note:
    user_id: uuid.UUID
    kind: str
    title: str
    body: str = ""
    link: str | None = None
    case_id: uuid.UUID | None = None


def add(session: AsyncSession, note: Note) -> None:
    session.add(
        Notification(
            user_id=note.user_id,
            case_id=note.case_id,
            kind=note.kind,
            title=note.title[:300],
            body=note.body,
            link=note.link,
        )
    )


async def inbox(session: AsyncSession, user_id: uuid.UUID, *, limit: int = 50) -> Sequence[Notification]:
    query = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> None:
    async with transaction(session):
        await session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
