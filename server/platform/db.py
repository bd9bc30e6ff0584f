"""The database engine, sessions and the declarative base shared by every part's models."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.platform.liveness import check_connections

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


# Seconds to open a connection. A stopped database refuses at once; this bounds the wait for one
# that is unreachable or hung. Generous, because a loaded server opening many connections at once
# can take seconds per connection, and giving up then would turn a busy moment into 503s.
CONNECT_TIMEOUT = 10.0
POOL_TIMEOUT = 10.0  # seconds to wait for a pooled connection when all are busy


def make_engine(url: str, *, pool_size: int = 10, connect_timeout: float = CONNECT_TIMEOUT) -> AsyncEngine:
    """An asyncpg engine whose pool finds the connections a database restart cut before handing
    them out (server/platform/liveness.py), so the first calls after the database is back
    succeed, without pool_pre_ping's round trip on every checkout."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"timeout": connect_timeout},
    )
    check_connections(engine)
    return engine


# SQLSTATE classes and codes that mean "the server is not there" rather than "the query is wrong":
# connection exceptions (08...), and shutting down, crashed or still starting (57P01-57P03).
_UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03"})


def database_unavailable(error: BaseException) -> bool:
    """Whether an error means PostgreSQL is out of reach for now (stopped, restarting, the
    connection cut, no connection to be had), as opposed to a fault in a query or its data.
    A refused connection reaches us as a bare OSError, a cut one wrapped in DBAPIError."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, ConnectionError | TimeoutError | PoolTimeout):
            return True
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return True
        state = getattr(link, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _UNREACHABLE_STATES):
            return True
        link = link.__cause__ or link.__context__
    return False


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session per request; services open their own transaction on it."""
    async with maker() as session:
        yield session


def import_all_models() -> None:
    """Import every part's models so Base.metadata is complete (for Alembic and tests)."""
    from server.actions import models as _actions  # noqa: F401
    from server.audit import models as _audit  # noqa: F401
    from server.cases import models as _cases  # noqa: F401
    from server.conference import models as _conference  # noqa: F401
    from server.insights import models as _insights  # noqa: F401
    from server.meetings import models as _meetings  # noqa: F401
    from server.minutes import models as _minutes  # noqa: F401
    from server.notify import ledger as _ledger  # noqa: F401
    from server.notify import models as _notify  # noqa: F401
    from server.people import models as _people  # noqa: F401
    from server.reports import models as _reports  # noqa: F401
    from server.webhooks import models as _webhooks  # noqa: F401


T = TypeVar("T")


def broken_unique(error: IntegrityError) -> str | None:
    """The unique index or constraint a statement broke, if that is what ``error`` is (PostgreSQL's
    unique_violation, as asyncpg reports it beneath SQLAlchemy's wrapper)."""
    cause = getattr(error.orig, "__cause__", None)
    if getattr(cause, "sqlstate", None) != "23505":
        return None
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


class Transaction:
    """The transaction :func:`transaction` opened, for a change that commits before its end
    (the block's end then commits nothing more)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def commit_while(self, work: Callable[[], Awaitable[T]]) -> T:
        """Commit now, doing ``work`` while the statements still to flush and the COMMIT are on
        their way to the database and back (most of a millisecond each; the COMMIT waits for the
        WAL flush). ``work`` touches nothing of the session's and must not fail; it should give the
        event loop a turn between its pieces, so that the commit's next statement goes out as soon
        as the last one is answered. Its answer is only worth anything if the commit succeeds, so a
        failed commit raises as ever and the answer is dropped."""
        committing = asyncio.ensure_future(self.session.commit())
        try:
            await asyncio.sleep(0)  # the commit's task sends its first statement and waits for the answer
            done = await work()
        finally:
            await committing
        return done


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[Transaction]:
    """One transaction for one change. A read earlier in the request may have begun a
    transaction implicitly; it is closed first, so every change starts clean and commits whole."""
    if session.in_transaction():
        await session.commit()
    async with session.begin():
        yield Transaction(session)
