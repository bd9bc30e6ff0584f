"""A pooled connection the database cut is never handed out, with or without a ping."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from server.platform import liveness
from server.platform.db import make_engine


async def backend_pid(engine: object) -> int:
    async with engine.connect() as connection:  # type: ignore[attr-defined]
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.parametrize("seen", [True, False], ids=["seen closed by the driver", "found by asking"])
async def test_a_connection_ended_by_the_server_is_replaced_without_an_error(
    migrated: str, seen: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not seen:  # as if the network had dropped it silently: only a ping can tell
        monkeypatch.setattr(liveness, "is_closed", lambda connection: False)
        monkeypatch.setattr(liveness, "TRUST_SECONDS", -1.0)
    engine = make_engine(migrated, pool_size=1)
    other = make_engine(migrated, pool_size=1)
    try:
        first = await backend_pid(engine)
        assert await backend_pid(engine) == first, "the pool hands the same connection out again"
        async with other.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.2)  # the server's goodbye reaches the driver
        second = await backend_pid(engine)
        assert second != first, "a fresh connection, and no error"
    finally:
        await engine.dispose()
        await other.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(migrated, pool_size=1)
    pings: list[object] = []
    real = engine.sync_engine.dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(connection)
        return bool(real(connection))

    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", counted)
    try:
        for _ in range(3):
            await backend_pid(engine)
        assert pings == []
        monkeypatch.setattr(liveness, "TRUST_SECONDS", -1.0)
        await backend_pid(engine)
        assert len(pings) == 1, "one left unused too long is asked first"
    finally:
        await engine.dispose()
