"""Which open sockets may stay open: sessions still valid, people still on the team."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ARRAY, Uuid, any_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.cases.models import CaseMember
from server.config import Settings
from server.people.models import User, UserSession
from server.platform.db import utcnow


@dataclass(frozen=True, slots=True)
class SocketAccess:
    sessions: frozenset[uuid.UUID]
    memberships: frozenset[tuple[uuid.UUID, uuid.UUID]]


async def open_socket_access(
    session: AsyncSession,
    settings: Settings,
    session_ids: set[uuid.UUID],
    memberships: set[tuple[uuid.UUID, uuid.UUID]],
) -> SocketAccess:
    """Two queries for all of a process's sockets; sessions in use are marked as active.

    The ids go as single array parameters (= ANY(:ids)): with thousands of sockets an expanding
    IN list costs tens of milliseconds of statement compilation on the event loop, every
    RECHECK_EVERY seconds, and a new statement for PostgreSQL to plan each time."""
    now = utcnow()
    live: set[uuid.UUID] = set()
    if session_ids:
        ids = list(session_ids)
        rows = await session.execute(
            select(UserSession.id)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.id == any_(bindparam("ids", ids, type_=ARRAY(Uuid()))),
                UserSession.ended_at.is_(None),
                UserSession.expires_at > now,
                User.is_active.is_(True),
            )
        )
        live = {row[0] for row in rows}
        if live:
            await session.execute(
                update(UserSession)
                .where(
                    UserSession.id == any_(bindparam("live", list(live), type_=ARRAY(Uuid()))),
                    UserSession.last_seen_at < now - timedelta(seconds=60),
                )
                .values(last_seen_at=now)
            )
    members: set[tuple[uuid.UUID, uuid.UUID]] = set()
    if memberships:
        pairs = list(memberships)
        wanted = select(
            func.unnest(bindparam("cases", [c for c, _ in pairs], type_=ARRAY(Uuid()))).label("case_id"),
            func.unnest(bindparam("users", [u for _, u in pairs], type_=ARRAY(Uuid()))).label("user_id"),
        ).subquery()
        member_rows = await session.execute(
            select(CaseMember.case_id, CaseMember.user_id).join(
                wanted, (CaseMember.case_id == wanted.c.case_id) & (CaseMember.user_id == wanted.c.user_id)
            )
        )
        members = {(case_id, user_id) for case_id, user_id in member_rows}
    return SocketAccess(frozenset(live), frozenset(members))
