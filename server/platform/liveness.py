"""Checking a pooled connection before it is handed out, without a round trip when it is plainly
alive.

``pool_pre_ping`` asks PostgreSQL on every checkout, a round trip (and the driver's work around
it) on every change. What it guards against are connections cut while they sat in the pool:

- a database restart, or a backend ended by the server: PostgreSQL closes the socket, and the
  driver sees it closed at once, with no need to ask;
- a link dropped silently by the network (a NAT or firewall forgetting an idle flow): nothing
  tells the driver, which is why a connection idle for longer than :data:`TRUST_SECONDS` is
  still pinged as before.

A connection that fails either check is thrown away, and the pool hands out another (SQLAlchemy
retries a checkout refused with ``DisconnectionError``), so a restart costs nobody an error.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

TRUST_SECONDS = 20.0  # well inside the idle timeouts of NATs and firewalls (minutes)
_RETURNED = "returned_at"


def check_connections(engine: AsyncEngine) -> None:
    """Install the checks on ``engine``'s pool (instead of ``pool_pre_ping``)."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    def opened(dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_RETURNED, None)

    @event.listens_for(pool, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def handing_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        found = verdict(is_closed(dbapi_connection), record.info.get(_RETURNED), time.monotonic())
        if found is Verdict.DEAD:
            raise DisconnectionError("the database closed this connection")
        if found is Verdict.ASK and not answers(dialect, dbapi_connection):
            raise DisconnectionError("this connection no longer answers")


class Verdict(Enum):
    DEAD = "dead"  # the driver saw the socket close: throw it away
    ASK = "ask"  # unused for longer than we trust: ping it first
    TRUST = "trust"  # open, and used a moment ago (or new)


def verdict(closed: bool, returned_at: float | None, now: float) -> Verdict:
    """Pure: what to do with a pooled connection before handing it out. ``returned_at`` is when
    it was last given back to the pool (None: it has just been opened)."""
    if closed:
        return Verdict.DEAD
    if returned_at is not None and now - returned_at > TRUST_SECONDS:
        return Verdict.ASK
    return Verdict.TRUST


def answers(dialect: Any, dbapi_connection: Any) -> bool:
    try:
        return bool(dialect.do_ping(dbapi_connection))
    except Exception:
        return False


def is_closed(dbapi_connection: Any) -> bool:
    """Whether the driver already knows the socket is gone (asyncpg under SQLAlchemy's adapter)."""
    driver = getattr(dbapi_connection, "_connection", None)
    closed = getattr(driver, "is_closed", None)
    return bool(closed()) if callable(closed) else False
