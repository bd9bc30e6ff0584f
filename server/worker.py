"""The background worker (arq on Redis): sends the outbox and, on a schedule, chases actions."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from server.actions.chasing import chase_pass
from server.config import Settings, SettingsError
from server.live.events import RedisPublisher
from server.notify.outbox import send_pending
from server.platform.db import utcnow
from server.platform.runtime import Runtime

log = logging.getLogger("roundtable.worker")


async def send_outbox(ctx: dict[str, Any]) -> dict[str, int]:
    runtime: Runtime = ctx["runtime"]
    report = await send_pending(runtime.sessionmaker, runtime.settings)
    return {"sent": report.sent, "failed": report.failed}


async def chase(ctx: dict[str, Any]) -> str:
    """Every minute: one chase pass, then whatever it queued goes out."""
    runtime: Runtime = ctx["runtime"]
    summary = await chase_pass(runtime.sessionmaker, runtime.settings, RedisPublisher(runtime.redis), utcnow())
    if summary.emails:
        await send_pending(runtime.sessionmaker, runtime.settings)
    return str(summary)


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


def make_worker(runtime: Runtime, *, handle_signals: bool = True) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = runtime

    return Worker(
        functions=[send_outbox, chase],
        cron_jobs=[
            cron(send_outbox, second={0, 15, 30, 45}, run_at_startup=True, unique=True),
            cron(chase, second=5, run_at_startup=True, unique=True, timeout=600),
        ],
        redis_settings=RedisSettings.from_dsn(runtime.redis_url),
        on_startup=startup,
        handle_signals=handle_signals,
        keep_result=60,
        max_jobs=10,
        poll_delay=0.5,
        queue_name="roundtable:queue",
    )


async def run_worker(settings: Settings, database_url: str, redis_url: str) -> None:
    runtime = Runtime(settings, database_url, redis_url)
    worker = make_worker(runtime)
    try:
        await worker.async_run()
    finally:
        await worker.close()
        await runtime.close()


async def run_in_process(runtime: Runtime) -> asyncio.Task[None]:
    """Start the worker inside a web process (the one-command local default)."""
    worker = make_worker(runtime, handle_signals=False)

    async def main() -> None:
        try:
            await worker.async_run()
        except asyncio.CancelledError:
            pass
        finally:
            await worker.close()

    return asyncio.create_task(main(), name="roundtable-worker")
