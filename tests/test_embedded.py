"""The embedded PostgreSQL and Valkey, exercised for real: processes, ports, data on disk."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis.asyncio as aioredis

from server.platform.embedded import EmbeddedError, EmbeddedServers, ensure_running, stop

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent has not reaped it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _processes_in(folder: Path) -> list[int]:
    """Live processes working in ``folder``: postgres and valkey chdir into their data."""
    found = []
    for proc in psutil.process_iter():
        try:
            if _alive(proc.pid) and Path(proc.cwd()).is_relative_to(folder):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _dsn(servers: EmbeddedServers) -> str:
    return servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
def started() -> Iterator[list[EmbeddedServers]]:
    """Collects every EmbeddedServers a test creates, and stops them even if it fails."""
    handles: list[EmbeddedServers] = []
    yield handles
    for servers in reversed(handles):
        stop(servers)


async def _select_one(servers: EmbeddedServers) -> int:
    conn = await asyncpg.connect(_dsn(servers))
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


async def _ping(servers: EmbeddedServers) -> bool:
    client = aioredis.from_url(servers.redis_url)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def test_start_reuse_stop(tmp_path: Path, started: list[EmbeddedServers]) -> None:
    first = ensure_running(tmp_path)
    started.append(first)
    assert first.postgres_started
    assert first.valkey_started
    assert first.database_url.startswith("postgresql+asyncpg://")
    assert first.database_url.endswith("/roundtable")
    assert "@127.0.0.1:" in first.database_url
    assert first.redis_url.startswith("redis://127.0.0.1:")
    assert first.redis_url.endswith("/0")
    assert await _select_one(first) == 1
    assert await _ping(first)

    second = ensure_running(tmp_path)
    assert not second.postgres_started
    assert not second.valkey_started
    assert (second.database_url, second.redis_url) == (first.database_url, first.redis_url)
    assert (second.postgres_pid, second.valkey_pid) == (first.postgres_pid, first.valkey_pid)

    stop(second)  # started nothing, so stops nothing
    assert await _select_one(first) == 1
    assert await _ping(first)

    stop(first)
    assert not _alive(first.postgres_pid)
    assert not _alive(first.valkey_pid)
    assert not _processes_in(tmp_path)
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    stop(first)  # idempotent


async def test_data_survives_a_restart(tmp_path: Path, started: list[EmbeddedServers]) -> None:
    first = ensure_running(tmp_path)
    started.append(first)
    conn = await asyncpg.connect(_dsn(first))
    await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, name text)")
    await conn.execute("INSERT INTO kept VALUES (1, 'Zoë')")
    await conn.close()
    client = aioredis.from_url(first.redis_url)
    await client.rpush("queued", "job-1")  # stands in for a queued arq job
    await client.aclose()
    stop(first)

    again = ensure_running(tmp_path)
    started.append(again)
    assert again.postgres_started
    assert again.valkey_started
    assert (again.database_url, again.redis_url) == (first.database_url, first.redis_url)
    conn = await asyncpg.connect(_dsn(again))
    assert await conn.fetchval("SELECT name FROM kept WHERE id = 1") == "Zoë"
    assert await conn.fetchval("SELECT upper('zoë')") == "ZOË"  # Unicode-aware locale
    await conn.close()
    client = aioredis.from_url(again.redis_url)
    assert await client.lrange("queued", 0, -1) == [b"job-1"]
    await client.aclose()


async def test_a_busy_remembered_port_is_replaced(tmp_path: Path, started: list[EmbeddedServers]) -> None:
    first = ensure_running(tmp_path)
    started.append(first)
    stop(first)
    old_port = int(first.database_url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as squatter:
        # the stopped server's connections may linger in TIME_WAIT; the servers bind through them too
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        again = ensure_running(tmp_path)
        started.append(again)
        assert again.database_url != first.database_url
        assert again.redis_url == first.redis_url
        assert await _select_one(again) == 1
    ports = json.loads((tmp_path / "ports.json").read_text())
    assert f":{ports['postgres']}/" in again.database_url


_CHILD = """
import json, sys
from dataclasses import asdict
from pathlib import Path
from server.platform.embedded import ensure_running
print(json.dumps(asdict(ensure_running(Path(sys.argv[1]))), default=str))
"""


def test_concurrent_starts_start_once(tmp_path: Path, started: list[EmbeddedServers]) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-W", "ignore", "-c", _CHILD, str(tmp_path)],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).parent.parent,
        )
        for _ in range(4)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    results = [json.loads(out) for out in outputs if out.strip()]
    starters = [r for r in results if r["postgres_started"]]
    if starters:  # hand ownership to this test so the fixture stops them
        started.append(EmbeddedServers(**{**starters[0], "data_dir": Path(tmp_path)}))
    assert [child.returncode for child in children] == [0, 0, 0, 0]
    assert len(starters) == 1
    assert [r["valkey_started"] for r in results].count(True) == 1
    assert len({(r["database_url"], r["redis_url"]) for r in results}) == 1


def test_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "something.txt").write_text("not a cluster")
    with pytest.raises(EmbeddedError, match="not a PostgreSQL data directory"):
        ensure_running(tmp_path)
