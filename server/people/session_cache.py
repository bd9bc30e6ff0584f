"""Which user a session cookie belongs to, remembered in one web process.

Every request and every socket is identified by its session cookie; looking the session up
costs a pool checkout and three or four round trips to PostgreSQL, ~3 ms of a change's latency
under load. The answer is remembered until the session would expire or go idle, so expiry acts
exactly on time. It is checked again in the background (``stale``) once it is ``seconds`` old:
that lookup is also what records the person's activity (``last_seen_at``), and it ends the
entry if the session was ended somewhere that could not tell this process. A sign-out, a password
change or a deactivation publishes "access changed" to every process, which clears its cache at
once; only while Redis is down does one take up to ``seconds`` (and one request) to reach the
other processes. ``seconds`` = 0 turns the cache off (ROUNDTABLE_SESSION_CACHE_SECONDS), as the
tests do, which move session rows in the database behind the server's back.

The cached user is handed out as a fresh detached copy each time, so no two requests share an
ORM instance.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from server.people.models import Agency, User
from server.people.tokens import digest
from server.platform.rows import detached_row

MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a session cookie belongs to, and until when that answer holds by itself."""

    user: User
    session_id: uuid.UUID
    good_until: datetime  # the session's absolute expiry or its idle limit, whichever comes first


@dataclass(frozen=True, slots=True)
class Cached:
    user: User
    session_id: uuid.UUID
    stale: bool  # time to look the session up again, in the background


@dataclass(slots=True)
class _Entry:
    until: float  # monotonic: when the session expires or idles out
    check_at: float  # monotonic: when to look it up again
    session_id: uuid.UUID
    user_values: dict[str, Any]
    agency_values: dict[str, Any]


def _values(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).column_attrs}


def _copy(user_values: dict[str, Any], agency_values: dict[str, Any]) -> User:
    return detached_row(User, user_values | {"agency": detached_row(Agency, agency_values)})


class SessionCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self.generation = 0  # raised by every clear: an answer read before one is not remembered

    def get(self, cookie: str) -> Cached | None:
        """The remembered answer, if the session is still good; ``stale`` is set for one caller
        at a time, the one that should look it up again."""
        if self.seconds <= 0:
            return None
        key = digest(cookie)
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now >= entry.until:
            del self._entries[key]
            return None
        stale = now >= entry.check_at
        if stale:
            entry.check_at = now + self.seconds
        return Cached(_copy(entry.user_values, entry.agency_values), entry.session_id, stale)

    def put(self, cookie: str, found: SignedIn, now: datetime, generation: int) -> None:
        """Remember a lookup's answer; ``now`` is the wall-clock time ``good_until`` is counted
        from, ``generation`` the cache's when the lookup began: if access changed meanwhile (a
        sign-out racing the lookup), the answer may be stale and is not kept."""
        if self.seconds <= 0 or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        clock = self._clock()
        self._entries[digest(cookie)] = _Entry(
            until=clock + (found.good_until - now).total_seconds(),
            check_at=clock + self.seconds,
            session_id=found.session_id,
            user_values=_values(found.user),
            agency_values=_values(found.user.agency),
        )

    def forget(self, cookie: str) -> None:
        self._entries.pop(digest(cookie), None)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1
