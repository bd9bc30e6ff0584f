"""The background worker (arq on Redis): sends the outbox and, on a schedule, chases actions.

The worker outlives either server going away. arq's own loop ends at the first Redis error, so
:func:`keep_working` runs it under a supervisor: when Redis goes, the jobs under way are let
finish (their work is in PostgreSQL), the supervisor waits for Redis with back-off, and a fresh
arq worker starts as soon as it answers, running the outbox and the chase at once. A job that
finds PostgreSQL gone logs one line and ends; the next run (the outbox every 5 s, the chase
every minute) carries on from where the database says things are. The chase ledger and the
outbox make each reminder and e-mail happen once, whatever was cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import ConnectionPool

from server.actions.chasing import chase_pass
from server.config import Settings, SettingsError
from server.live.events import RedisPublisher
from server.notify.outbox import send_pending
from server.platform.db import utcnow
from server.platform.runtime import REDIS_UNAVAILABLE, Runtime, out_of_reach, redis_options

log = logging.getLogger("roundtable.worker")
QUEUE = "roundtable:queue"
OUTBOX_EVERY = 5  # seconds: e-mail goes out this soon after the change that queued it
CHASE_TIMEOUT = 600
RECONNECT_FIRST, RECONNECT_MOST = 0.25, 1.0  # seconds between tries while Redis is away

T = TypeVar("T")


async def _unless_database_down(job: str, work: Callable[[], Awaitable[T]]) -> T | str:
    """Run a job; if PostgreSQL is out of reach, say so in one line instead of a traceback. The
    next run picks up what this one could not do."""
    try:
        return await work()
    except Exception as error:
        if out_of_reach(error) != "database":
            raise
        log.warning("%s: the database is out of reach (%s); the next run carries on", job, error)
        return "database unavailable"


async def send_outbox(ctx: dict[str, Any]) -> dict[str, int] | str:
    runtime: Runtime = ctx["runtime"]

    async def work() -> dict[str, int]:
        report = await send_pending(runtime.sessionmaker, runtime.settings)
        return {"sent": report.sent, "failed": report.failed}

    return await _unless_database_down("outbox", work)


async def chase(ctx: dict[str, Any]) -> str:
    """Every minute: one chase pass, then whatever it queued goes out."""
    runtime: Runtime = ctx["runtime"]

    async def work() -> str:
        summary = await chase_pass(runtime.sessionmaker, runtime.settings, RedisPublisher(runtime.redis), utcnow())
        if summary.emails:
            await send_pending(runtime.sessionmaker, runtime.settings)
        return str(summary)

    return await _unless_database_down("chase", work)


async def chase_once(settings: Settings, database_url: str, redis_url: str, *, at: str | None) -> str:
    """`roundtable chase [--at TIME]`: one pass now, or as if at that time; send; report."""
    now = utcnow() if at is None else _parse_time(at)
    runtime = Runtime(settings, database_url, redis_url)
    try:
        summary = await chase_pass(runtime.sessionmaker, settings, RedisPublisher(runtime.redis), now)
        report = await send_pending(runtime.sessionmaker, settings)
    finally:
        await runtime.close()
    return f"{summary} E-mail sent: {report.sent}; waiting to retry: {report.failed}."


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"--at must be an ISO 8601 time like 2026-12-01T10:00:00+00:00, not {text!r}") from None
    if value.tzinfo is None:
        raise SettingsError("--at needs a UTC offset, like 2026-12-01T10:00:00+00:00")
    return value


def make_worker(runtime: Runtime) -> Worker:
    """One arq worker, on a Redis connection of its own that fails fast (see redis_options).
    Signals are left to the caller: the worker may be replaced while one arrives."""

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = runtime
        log.info("worker: ready (the outbox every %d s, the chase every minute)", OUTBOX_EVERY)

    pool = ArqRedis(ConnectionPool.from_url(runtime.redis_url, **redis_options()), default_queue_name=QUEUE)
    return Worker(
        functions=[send_outbox, chase],
        cron_jobs=[
            cron(send_outbox, second=set(range(0, 60, OUTBOX_EVERY)), run_at_startup=True, unique=True),
            cron(chase, second=5, run_at_startup=True, unique=True, timeout=CHASE_TIMEOUT),
        ],
        redis_pool=pool,
        on_startup=startup,
        handle_signals=False,
        keep_result=60,
        max_jobs=10,
        poll_delay=0.5,
        queue_name=QUEUE,
    )


async def keep_working(runtime: Runtime) -> None:
    """Run the worker until this coroutine is cancelled, starting it afresh each time Redis
    comes back (and after any other failure of arq's loop, which is logged)."""
    while True:
        worker = make_worker(runtime)
        try:
            await worker.async_run()
        except asyncio.CancelledError:
            await _stop(worker)
            raise
        except REDIS_UNAVAILABLE as error:
            log.warning("worker: lost Redis (%s); waiting for it to come back", error)
        except Exception:
            log.exception("worker: arq stopped unexpectedly; starting it again")
            await asyncio.sleep(RECONNECT_MOST)  # never a tight loop of restarts
        await _retire(worker)
        await _wait_for_redis(runtime)
        log.warning("worker: Redis answers; carrying on")


async def _wait_for_redis(runtime: Runtime) -> None:
    pause = RECONNECT_FIRST
    while True:
        with contextlib.suppress(*REDIS_UNAVAILABLE):
            await runtime.redis.ping()
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, RECONNECT_MOST)


async def _retire(worker: Worker) -> None:
    """After Redis went away: let the jobs under way finish (their work is in PostgreSQL;
    arq's bookkeeping of them in Redis may fail, and is not needed), then drop the connections."""
    tasks = list(worker.tasks.values())
    try:
        if tasks:
            done, _ = await asyncio.wait(tasks, timeout=CHASE_TIMEOUT)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: arq's failed bookkeeping is expected here
    except asyncio.CancelledError:
        await _stop(worker)
        raise
    await _close_pool(worker)


async def _stop(worker: Worker) -> None:
    """On shutdown: cancel what is running (the outbox and the chase are safe to cut short)."""
    tasks = [task for task in worker.tasks.values() if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=10)
    with contextlib.suppress(*REDIS_UNAVAILABLE, TimeoutError):
        await asyncio.wait_for(worker.pool.delete(worker.health_check_key), 3)
    await _close_pool(worker)


async def _close_pool(worker: Worker) -> None:
    with contextlib.suppress(*REDIS_UNAVAILABLE, OSError):
        await worker.pool.aclose(close_connection_pool=True)


async def run_worker(settings: Settings, database_url: str, redis_url: str) -> None:
    """`roundtable worker`: until SIGTERM or SIGINT, which cancel the work (cut short safely)."""
    runtime = Runtime(settings, database_url, redis_url)
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    log.info("worker: starting")
    try:
        await keep_working(runtime)
    except asyncio.CancelledError:
        log.info("worker: stopped")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runtime.close()


async def run_in_process(runtime: Runtime) -> asyncio.Task[None]:
    """Start the worker inside a web process (the one-command local default); the web process
    stops it by cancelling the task."""

    async def main() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await keep_working(runtime)

    return asyncio.create_task(main(), name="roundtable-worker")
