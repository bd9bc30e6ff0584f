"""Shared fixtures: real PostgreSQL and Valkey (embedded, or the servers named by
ROUNDTABLE_DATABASE_URL and ROUNDTABLE_REDIS_URL), a clean database for every test, the app,
and a team with one person in each role."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.app import create_app
from server.config import Settings, load_settings
from server.platform.db import Base, import_all_models
from server.platform.migrations import upgrade
from server.platform.runtime import Runtime
from tests.support import Team, free_port, make_team
from tests.webhook_receiver import Receiver

import_all_models()
TEST_SECRET = "test-secret-key-that-is-long-enough-for-the-rules-0123456789"


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="roundtable-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def endpoints(data_dir: Path) -> Iterator[tuple[str, str]]:
    """The database and Redis for this test run: external when configured, else embedded ones
    started in a fresh folder and stopped at the end."""
    database_url = os.environ.get("ROUNDTABLE_DATABASE_URL")
    redis_url = os.environ.get("ROUNDTABLE_REDIS_URL")
    if database_url and redis_url:
        yield database_url, redis_url
        return
    from server.platform import embedded

    servers = embedded.ensure_running(data_dir / "servers")
    try:
        yield servers.database_url, servers.redis_url
    finally:
        embedded.stop(servers)


@pytest.fixture(scope="session")
def settings(data_dir: Path, endpoints: tuple[str, str]) -> Settings:
    env = {
        "ROUNDTABLE_DATABASE_URL": endpoints[0],
        "ROUNDTABLE_REDIS_URL": endpoints[1],
        "ROUNDTABLE_SECRET_KEY": TEST_SECRET,
        "ROUNDTABLE_DATA_DIR": str(data_dir),
        "ROUNDTABLE_BASE_URL": "http://testserver.local",
        "ROUNDTABLE_SESSION_CACHE_SECONDS": "0",  # tests move session rows in the database
    }
    return load_settings(env)


@pytest.fixture(scope="session")
def migrated(endpoints: tuple[str, str]) -> str:
    upgrade(endpoints[0])
    return endpoints[0]


@pytest.fixture(scope="session")
async def runtime(settings: Settings, migrated: str, endpoints: tuple[str, str]) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings, endpoints[0], endpoints[1])
    yield runtime
    await runtime.close()


@pytest.fixture(scope="session")
async def app(runtime: Runtime) -> AsyncIterator[Litestar]:
    """The app with its lifespan running (channels, the live hub), as a server would run it."""
    application = create_app(runtime)
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:  # enter and leave the lifespan in one task, as a server does
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    await started.wait()
    yield application
    stop.set()
    await task


TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


@pytest.fixture(autouse=True)
async def clean(request: pytest.FixtureRequest) -> None:
    """Every test that touches the database starts from empty tables and an empty Redis."""
    if "runtime" not in request.fixturenames:
        return
    runtime: Runtime = request.getfixturevalue("runtime")
    for attempt in range(5):
        try:
            async with runtime.engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
            break
        except DBAPIError as error:  # a live feed of the last test still reading: PostgreSQL picks us
            if "deadlock" not in str(error) or attempt == 4:
                raise
            await asyncio.sleep(0.1)
    await runtime.redis.flushdb()


@pytest.fixture
async def client(app: Litestar, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in this event loop (real database, real Redis)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
async def team(runtime: Runtime, request: pytest.FixtureRequest) -> Team:
    """A fresh team; under ``@pytest.mark.meeting_far_off`` its meeting is a year away."""
    far_off = request.node.get_closest_marker("meeting_far_off") is not None
    return await make_team(runtime, datetime.now(UTC) + timedelta(days=365) if far_off else None)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """The cheapest argon2id parameters for the suite, so that making a team per test costs
    milliseconds; the hashing code is the same, and the server processes tests start keep the
    real parameters."""
    from argon2 import PasswordHasher

    from server.people import passwords

    real = passwords._HASHER
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._HASHER = real


@pytest.fixture(scope="session")
async def live_url(app: Litestar) -> AsyncIterator[str]:
    """The app served over real TCP by uvicorn in this event loop, for real socket clients."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws_max_size=65536)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback that records every request it is sent."""
    async with Receiver() as running:
        yield running
