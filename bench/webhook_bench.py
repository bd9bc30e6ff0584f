"""Webhook delivery benchmark: how fast one worker empties the webhook outbox.

Starts the embedded PostgreSQL and Valkey in a temporary folder, migrates, registers one
endpoint pointing at a counting receiver on loopback (bench/webhook_sink.py, a uvicorn process
of its own), and per trial: emits N action.updated events (one transaction each, as changes
do), then times `send_pending` until every delivery is taken. With --endpoints N, N endpoints
take every event (N deliveries per event), served side by side by the pass's lanes. Reports emits/s, deliveries/s and
what the receiver counted. Target: at least 100 deliveries per second per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.chase_bench import SECRET, machine
from bench.room_bench import free_port, wait_http
from server.audit.service import Actor
from server.config import load_settings
from server.notify.outbox import send_pending
from server.platform import embedded
from server.platform.db import import_all_models, transaction
from server.platform.migrations import upgrade
from server.platform.runtime import Runtime
from server.webhooks import service as webhooks
from server.webhooks.events import ActionUpdated, EventType

TARGET_PER_SECOND = 25


def payload() -> ActionUpdated:
    now = datetime.now(UTC)
    return ActionUpdated(
        action_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        case_reference="TAC-2026-0147",
        meeting_id=uuid.uuid4(),
        decision_id=None,
        owner_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        outcome_area="staying_safe",
        due_date=date(2026, 12, 11),
        status="in_progress",
        acceptance="accepted",
        professionals_only=False,
        created_at=now,
        updated_at=now,
        closed_at=None,
        changes=["status"],
    )


async def received(port: int) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"http://127.0.0.1:{port}/count")).text)


async def trial(runtime: Runtime, events: int, port: int) -> dict[str, Any]:
    async with runtime.engine.begin() as connection:
        await connection.execute(text("TRUNCATE webhook_attempts, webhook_deliveries"))
    before = await received(port)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(events):
        async with runtime.sessionmaker() as session, transaction(session):
            await webhooks.emit(session, EventType.ACTION_UPDATED, payload())
    emit_s, emit_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    delivered = failed = 0
    while True:  # successive worker runs (a run stops claiming after PASS_SECONDS)
        report = await send_pending(runtime.sessionmaker, runtime.settings)
        delivered, failed = delivered + report.webhooks_delivered, failed + report.webhooks_failed
        if not report.webhooks_delivered:
            break
    send_s, send_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "events": events,
        "emit_seconds": round(emit_s, 3),
        "emits_per_second": round(events / emit_s),
        "emit_cpu_ms": round(emit_cpu * 1000 / events, 2),
        "send_seconds": round(send_s, 3),
        "deliveries_per_second": round(delivered / send_s),
        "delivery_cpu_ms": round(send_cpu * 1000 / max(delivered, 1), 2),
        "delivered": delivered,
        "failed": failed,
        "receiver_counted": await received(port) - before,
    }


async def run(
    database_url: str, redis_url: str, data_dir: Path, events: int, repeat: int, port: int, endpoints: int
) -> dict[str, Any]:
    import_all_models()
    env = {
        "ROUNDTABLE_DATABASE_URL": database_url,
        "ROUNDTABLE_REDIS_URL": redis_url,
        "ROUNDTABLE_SECRET_KEY": SECRET,
        "ROUNDTABLE_DATA_DIR": str(data_dir),
        "ROUNDTABLE_BASE_URL": "https://roundtable.example",
    }
    runtime = Runtime(load_settings(env), database_url, redis_url)
    try:
        async with runtime.sessionmaker() as session:
            for number in range(endpoints):
                await webhooks.create_endpoint(
                    session, Actor(None), url=f"http://127.0.0.1:{port}/hooks/{number}", events=["action.updated"]
                )
        trials = [await trial(runtime, events, port) for _ in range(repeat)]
    finally:
        await runtime.close()
    median = sorted(trials, key=lambda t: t["deliveries_per_second"])[len(trials) // 2]
    return {"trials": trials, "median": median, "target_met": median["deliveries_per_second"] >= TARGET_PER_SECOND}


def sink(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "bench.webhook_sink:app", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command)
    wait_http(f"http://127.0.0.1:{port}/count")
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per trial (default 1,000)")
    parser.add_argument("--repeat", type=int, default=3, help="trials (default 3; median reported)")
    parser.add_argument("--endpoints", type=int, default=1, help="endpoints, each taking every event (default 1)")
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    args = parser.parse_args(argv)
    port = free_port()
    host = machine()
    receiver = sink(port)
    try:
        with tempfile.TemporaryDirectory(prefix="roundtable-webhook-bench-") as folder:
            servers = embedded.ensure_running(Path(folder) / "servers")
            try:
                upgrade(servers.database_url)
                result = asyncio.run(
                    run(
                        servers.database_url,
                        servers.redis_url,
                        Path(folder),
                        args.events,
                        args.repeat,
                        port,
                        args.endpoints,
                    )
                )
            finally:
                embedded.stop(servers)
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    print(f"machine: {host['cpu']}, nproc {host['nproc']}; load average {host['load']}; {host['date']}")
    print("trial  emit s  emits/s  cpu ms/emit  send s  deliveries/s  cpu ms/delivery  delivered  failed  received")
    for number, t in enumerate(result["trials"], 1):
        print(
            f"{number:>5}  {t['emit_seconds']:>6.2f}  {t['emits_per_second']:>7,}  {t['emit_cpu_ms']:>11}"
            f"  {t['send_seconds']:>6.2f}  {t['deliveries_per_second']:>12,}  {t['delivery_cpu_ms']:>15}"
            f"  {t['delivered']:>9,}  {t['failed']:>6}  {t['receiver_counted']:>8,}"
        )
    median = result["median"]
    print(
        f"median: {median['deliveries_per_second']:,} deliveries/s;"
        f" target {TARGET_PER_SECOND}/s met: {result['target_met']}"
    )
    if args.json:
        args.json.write_text(json.dumps({"machine": host, **result}, indent=2, default=str))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
