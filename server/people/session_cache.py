"""A few seconds' memory of which user a session cookie belongs to, in one web process.

Every request and every socket is identified by its session cookie; looking the session up
costs a pool checkout and four round trips to PostgreSQL (begin, the session, the user, commit),
~2 ms of a change's latency under load. Remembering the answer for a while saves that for a
chair working through a meeting. A sign-out, a password change or a deactivation publishes
"access changed" to every process, which clears its cache at once; an expiry or an idle timeout
takes effect up to ``seconds`` late (30 by default; sessions idle out after 30 minutes).
``seconds`` = 0 turns the cache off (ROUNDTABLE_SESSION_CACHE_SECONDS), as the tests do, which
move session rows in the database behind the server's back.

The cached user is handed out as a fresh detached copy each time, so no two requests share an
ORM instance.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from server.people.models import Agency, User
from server.people.tokens import digest

MAX_ENTRIES = 50_000

Entry = tuple[float, uuid.UUID, dict[str, Any], dict[str, Any]]


def _values(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).column_attrs}


def _copy(user_values: dict[str, Any], agency_values: dict[str, Any]) -> User:
    agency = Agency(**agency_values)
    make_transient_to_detached(agency)
    user = User(**user_values)
    user.agency = agency
    make_transient_to_detached(user)
    return user


class SessionCache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, Entry] = {}

    def get(self, cookie: str) -> tuple[User, uuid.UUID] | None:
        if self.seconds <= 0:
            return None
        key = digest(cookie)
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, session_id, user_values, agency_values = entry
        if time.monotonic() >= until:
            self._entries.pop(key, None)
            return None
        return _copy(user_values, agency_values), session_id

    def put(self, cookie: str, user: User, session_id: uuid.UUID) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest(cookie)] = (
            time.monotonic() + self.seconds,
            session_id,
            _values(user),
            _values(user.agency),
        )

    def clear(self) -> None:
        self._entries.clear()
