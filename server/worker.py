"""The background worker (arq on Redis): sends the outbox and, on a schedule, chases actions."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from server.config import Settings
from server.notify.outbox import send_pending
from server.runtime import Runtime

log = logging.getLogger("roundtable.worker")


async def send_outbox(ctx: dict[str, Any]) -> dict[str, int]:
    runtime: Runtime = ctx["runtime"]
    report = await send_pending(runtime.sessionmaker, runtime.settings)
    return {"sent": report.sent, "failed": report.failed}


def make_worker(runtime: Runtime, *, handle_signals: bool = True) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = runtime

    return Worker(
        functions=[send_outbox],
        cron_jobs=[cron(send_outbox, second={0, 15, 30, 45}, run_at_startup=True, unique=True)],
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
