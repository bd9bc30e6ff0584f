"""Telling an outage from a bug. A server out of reach (refused, cut off, or silent) is found
within a few seconds and answered 503 "try again"; a broken query or bad data stays what it is
(a 409 or 422, or a 500 logged as our own fault), never disguised as an outage."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.platform.db import make_engine
from server.platform.runtime import Runtime, out_of_reach, redis_options
from server.web.errors import DATABASE_DOWN, REDIS_DOWN, outage
from tests.support import free_port


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word: a hung or partitioned server."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()


async def failure_of(call: Callable[[], object]) -> tuple[BaseException, float]:
    started = time.monotonic()
    try:
        await call()  # type: ignore[misc]
    except Exception as error:
        return error, time.monotonic() - started
    raise AssertionError("the call succeeded")


SHORT = 1.0  # the timeouts under test, shortened so that the suite does not wait the real ones out


async def query(url: str) -> None:
    engine = make_engine(url, connect_timeout=SHORT)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def ping(url: str) -> None:
    client = Redis.from_url(url, **redis_options(SHORT))
    try:
        await client.ping()
    finally:
        await client.aclose()


async def test_a_server_that_refuses_or_says_nothing_is_an_outage_found_within_seconds() -> None:
    async with silent_server() as silent:
        (
            (pg_refused, pg_refused_after),
            (pg_silent, pg_silent_after),
            (redis_refused, redis_refused_after),
            (
                redis_silent,
                redis_silent_after,
            ),
        ) = await asyncio.gather(
            failure_of(lambda: query(f"postgresql+asyncpg://u@127.0.0.1:{free_port()}/x")),
            failure_of(lambda: query(f"postgresql+asyncpg://u@127.0.0.1:{silent}/x")),
            failure_of(lambda: ping(f"redis://127.0.0.1:{free_port()}/0")),
            failure_of(lambda: ping(f"redis://127.0.0.1:{silent}/0")),
        )
    for error in (pg_refused, pg_silent):
        assert out_of_reach(error) == "database", repr(error)
        assert outage(error) is DATABASE_DOWN
    for error in (redis_refused, redis_silent):
        assert out_of_reach(error) == "redis", repr(error)
        assert outage(error) is REDIS_DOWN
    assert max(pg_refused_after, redis_refused_after) < 1
    assert pg_silent_after < SHORT + 1
    assert redis_silent_after < SHORT + 1


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ("SELECT no_such_column FROM users", "a query that is wrong"),
        ("SELECT 1 / 0", "arithmetic the data cannot do"),
        ("SELECT 'not a number'::int", "data of the wrong form"),
        ("INSERT INTO agencies (id, name, sector) VALUES (gen_random_uuid(), NULL, 'health')", "a broken constraint"),
    ],
)
async def test_a_query_or_data_fault_is_not_an_outage(runtime: Runtime, statement: str, why: str) -> None:
    async with runtime.engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            await connection.execute(text(statement))
    assert out_of_reach(caught.value) is None, why
    assert outage(caught.value) is None, why
