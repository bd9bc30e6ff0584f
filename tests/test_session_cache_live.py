"""The session cache in a running app (the rest of the suite runs with it off): a remembered
session is checked again off the request's path, which records activity and ends what another
process ended; expiry acts on time."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from server.people.models import UserSession
from server.people.session_cache import SessionCache
from server.platform.db import utcnow
from server.platform.runtime import Runtime
from tests.support import Team, sign_in


class Clock:
    """Monotonic time that a test can move forward."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.ahead


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(runtime, "session_cache", SessionCache(30, clock))
    return clock


async def me(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/me")).status_code


async def set_session(runtime: Runtime, **values: object) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(update(UserSession).values(**values))


async def last_seen(runtime: Runtime) -> timedelta:
    async with runtime.sessionmaker() as session:
        seen = await session.scalar(select(UserSession.last_seen_at))
    assert seen is not None
    return utcnow() - seen


async def eventually(check: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "did not happen in time"
        await asyncio.sleep(0.02)


async def test_a_session_ended_elsewhere_is_refused_after_one_check_in_the_background(
    client: httpx.AsyncClient, team: Team, runtime: Runtime, clock: Clock
) -> None:
    await sign_in(client, team.member)
    assert await me(client) == 200
    await set_session(runtime, ended_at=utcnow())  # as a process that could not tell this one would
    assert await me(client) == 200  # remembered: not asked again yet
    clock.ahead += 30
    assert await me(client) == 200  # answered from memory, and checked again off the path

    async def refused() -> bool:
        return await me(client) == 401

    await eventually(refused)


async def test_the_check_in_the_background_records_activity(
    client: httpx.AsyncClient, team: Team, runtime: Runtime, clock: Clock
) -> None:
    await sign_in(client, team.member)
    assert await me(client) == 200
    await set_session(runtime, last_seen_at=utcnow() - timedelta(minutes=5))
    assert await me(client) == 200
    assert await last_seen(runtime) > timedelta(minutes=4)  # no lookup, no write
    clock.ahead += 30
    assert await me(client) == 200

    async def touched() -> bool:
        return await last_seen(runtime) < timedelta(seconds=5)

    await eventually(touched)
    assert await me(client) == 200


async def test_a_remembered_session_expires_on_time(
    client: httpx.AsyncClient, team: Team, runtime: Runtime, clock: Clock
) -> None:
    await sign_in(client, team.member)
    await set_session(runtime, expires_at=utcnow() + timedelta(seconds=1))
    assert await me(client) == 200  # remembered until the session expires, not for 30 s
    await asyncio.sleep(1.1)
    assert await me(client) == 401
