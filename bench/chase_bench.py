"""Chase pass benchmark: `python -m bench.chase_bench` (see bench/README.md, "Chase pass").

100,000 open actions of which 10,000 are due for a reminder, owned by ~2,000 people on 5,000
cases. Starts the embedded PostgreSQL and Valkey in a temporary folder, migrates, bulk-loads the
data with COPY, then measures:

* one chase pass at a fixed working-hours time (the first, which records every reminder, and a
  second at the same time, which is what the every-minute cron costs when nothing is new);
* the statements the pass sent (a single candidate query, not one per action) and the plan of the
  candidate query (it must use the partial index ix_actions_open_due_date);
* send_pending into a local SMTP server (aiosmtpd on loopback): e-mails/s and reminders/s.

Targets from the issue: scan >= 10,000 actions/s; >= 200 reminders/s per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import event, text

from server import embedded
from server.actions.chase import earliest_due_date_to_scan
from server.actions.chasing import chase_pass, chase_settings
from server.config import load_settings
from server.db import import_all_models
from server.live.events import NoPublisher
from server.migrations import upgrade
from server.notify.outbox import send_pending
from server.runtime import Runtime

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 in London
SECRET = "chase-bench-secret-key-that-is-long-enough-0123456789"
SCAN_TARGET = 10_000  # actions per second
REMINDER_TARGET = 200  # reminders per second per worker


# --- a local SMTP server that only counts ---------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.content)
        return "250 OK"


@contextmanager
def smtp_sink() -> Iterator[tuple[str, _Counter]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = _Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="bench.local")
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", handler
    finally:
        controller.stop()


# --- bulk data ----------------------------------------------------------------------------------------


@dataclass
class Shape:
    actions: int = 100_000
    due: int = 10_000
    people: int = 2_000
    cases: int = 5_000
    seed: int = 1


def _working_days_back(day: date, n: int) -> date:
    while n:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


async def load(runtime: Runtime, shape: Shape) -> dict[str, int]:
    """COPY agencies, people, cases (a lead and a chair each) and the actions into the database.

    ``due`` actions fall in the window a pass must look at now: due from 15 working days ago to
    the last day that can have a "before due" reminder. The rest are due later, over four months.
    All are open (60% open, 30% in progress, 10% accepted and open)."""
    rng = random.Random(shape.seed)
    rules = chase_settings(runtime.settings.chase)
    latest = earliest_due_date_to_scan(NOW, rules)
    earliest = _working_days_back(NOW.date(), 15)
    window = [earliest + timedelta(days=d) for d in range((latest - earliest).days + 1)]
    later = [latest + timedelta(days=d) for d in range(1, 120)]
    stamp = datetime(2026, 10, 1, tzinfo=UTC)
    agencies = [(uuid.uuid4(), f"Agency {i}", sector) for i, sector in enumerate(["health", "education", "police"])]
    people = [
        (uuid.uuid4(), f"worker{i}@bench.example", f"Worker {i}", rng.choice(agencies)[0]) for i in range(shape.people)
    ]
    cases = []
    for i in range(shape.cases):
        lead, chair = rng.sample(people, 2)
        cases.append((uuid.uuid4(), f"B-{i:06d}", f"Child {i}", lead[0], chair[0]))
    statuses = [("open", "pending")] * 6 + [("in_progress", "accepted")] * 3 + [("open", "accepted")]
    actions = []
    for i in range(shape.actions):
        case = rng.choice(cases)
        owner = rng.choice(people)
        due = rng.choice(window) if i < shape.due else rng.choice(later)
        status, acceptance = rng.choice(statuses)
        actions.append(
            (uuid.uuid4(), case[0], f"Bench action {i}", owner[0], owner[3], due, "staying_safe")
            + (status, acceptance, stamp, stamp)
        )
    rng.shuffle(actions)
    async with runtime.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table("agencies", records=agencies, columns=["id", "name", "sector"])
        await raw.copy_records_to_table("users", records=people, columns=["id", "email", "name", "agency_id"])
        await raw.copy_records_to_table(
            "cases",
            records=[(c[0], c[1], c[2], c[3]) for c in cases],
            columns=["id", "reference", "display_name", "lead_professional_id"],
        )
        await raw.copy_records_to_table(
            "case_members",
            records=[(c[0], c[4], "chair", stamp) for c in cases]
            + [(c[0], c[3], "professional", stamp) for c in cases],
            columns=["case_id", "user_id", "role", "added_at"],
        )
        await raw.copy_records_to_table(
            "actions",
            records=actions,
            columns=[
                "id",
                "case_id",
                "title",
                "owner_id",
                "agency_id",
                "due_date",
                "outcome_area",
                "status",
                "acceptance",
                "created_at",
                "updated_at",
            ],
        )
        for table in ("actions", "users", "cases", "case_members"):
            await raw.execute(f"VACUUM ANALYZE {table}")
    return {"people": len(people), "cases": len(cases), "actions": len(actions)}


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Statements:
    """Every statement the engine sends while armed: how many, and the candidate query."""

    armed: bool = False
    seen: list[tuple[str, Any, int]] = field(default_factory=list)

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if self.armed:
            rows = len(parameters) if executemany and isinstance(parameters, list | tuple) else 1
            self.seen.append((statement, parameters, rows))

    def summary(self) -> list[str]:
        lines = []
        for statement, _, rows in self.seen:
            head = " ".join(statement.split())[:110]
            lines.append(f"{head}{f'  [executemany x{rows}]' if rows > 1 else ''}")
        return lines

    def candidate_query(self) -> tuple[str, Any]:
        for statement, parameters, _ in self.seen:
            if re.search(r"\bFROM actions\b", statement) and "due_date" in statement:
                return statement, parameters
        raise LookupError("no candidate query was seen")


async def explain(runtime: Runtime, statement: str, parameters: Any) -> str:
    async with runtime.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        params = list(parameters) if isinstance(parameters, list | tuple) else []
        rows = await raw.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, *params)
        return "\n".join(r[0] for r in rows)


async def count(runtime: Runtime, sql: str) -> int:
    async with runtime.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


@contextmanager
def profiled(enabled: bool, label: str, out: list[str]) -> Iterator[None]:
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        buffer = io.StringIO()
        stats = pstats.Stats(profile, stream=buffer).sort_stats("cumulative")
        stats.print_stats(45)
        out.append(f"--- cProfile: {label} (cumulative) ---\n{buffer.getvalue()}")
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats("tottime").print_stats(25)
        out.append(f"--- cProfile: {label} (own time) ---\n{buffer.getvalue()}")


async def run(database_url: str, redis_url: str, data_dir: Path, shape: Shape, profile: bool) -> dict[str, Any]:
    import_all_models()
    with smtp_sink() as (smtp_url, sink):
        env = {
            "ROUNDTABLE_DATABASE_URL": database_url,
            "ROUNDTABLE_REDIS_URL": redis_url,
            "ROUNDTABLE_SECRET_KEY": SECRET,
            "ROUNDTABLE_DATA_DIR": str(data_dir),
            "ROUNDTABLE_SMTP_URL": smtp_url,
            "ROUNDTABLE_BASE_URL": "https://roundtable.example",
        }
        settings = load_settings(env)
        runtime = Runtime(settings, database_url, redis_url)
        statements = Statements()
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", statements)
        profiles: list[str] = []
        try:
            started = time.perf_counter()
            loaded = await load(runtime, shape)
            load_s = time.perf_counter() - started
            # Warm the pool and the catalogue caches, as a long-running worker would have them.
            await count(runtime, "SELECT count(*) FROM reminder_ledger")

            statements.armed = True
            started = time.perf_counter()
            with profiled(profile, "first chase pass", profiles):
                first = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), NOW)
            first_s = time.perf_counter() - started
            statements.armed = False
            first_statements = statements.summary()
            candidate_sql, candidate_params = statements.candidate_query()

            started = time.perf_counter()
            with profiled(profile, "second chase pass (nothing new)", profiles):
                second = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), NOW + timedelta(minutes=1))
            second_s = time.perf_counter() - started

            plan = await explain(runtime, candidate_sql, candidate_params)
            ledger_rows = await count(runtime, "SELECT count(*) FROM reminder_ledger")
            outbox_rows = await count(runtime, "SELECT count(*) FROM outbox")

            started = time.perf_counter()
            with profiled(profile, "send_pending", profiles):
                report = await send_pending(runtime.sessionmaker, settings)
            send_s = time.perf_counter() - started
        finally:
            await runtime.close()
        open_actions = loaded["actions"]
        result = {
            "shape": shape.__dict__,
            "loaded": loaded,
            "load_seconds": round(load_s, 2),
            "first_pass": {
                "seconds": round(first_s, 3),
                "candidates_scanned": first.scanned,
                "reminders_recorded": first.reminders,
                "emails_queued": first.emails,
                "candidates_per_second": round(first.scanned / first_s),
                "open_actions_per_second": round(open_actions / first_s),
                "reminders_per_second": round(first.reminders / first_s),
                "statements": len(first_statements),
            },
            "second_pass": {
                "seconds": round(second_s, 3),
                "candidates_scanned": second.scanned,
                "reminders_recorded": second.reminders,
                "candidates_per_second": round(second.scanned / second_s),
            },
            "ledger_rows": ledger_rows,
            "outbox_rows": outbox_rows,
            "send": {
                "seconds": round(send_s, 3),
                "emails_sent": report.sent,
                "failed": report.failed,
                "received_by_smtp": sink.messages,
                "megabytes": round(sink.bytes / 1e6, 2),
                "emails_per_second": round(report.sent / send_s, 1),
                "reminders_delivered_per_second": round(first.reminders / send_s),
            },
            "targets": {
                "scan_10k_actions_per_s": first.scanned / first_s >= SCAN_TARGET,
                "record_200_reminders_per_s": first.reminders / first_s >= REMINDER_TARGET,
                "deliver_200_reminders_per_s": first.reminders / send_s >= REMINDER_TARGET,
                "candidate_query_uses_partial_index": "ix_actions_open_due_date" in plan,
            },
            "first_pass_statements": first_statements,
            "candidate_plan": plan,
        }
        return {"result": result, "profiles": profiles}


def machine() -> dict[str, str]:
    def sh(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False, timeout=10).stdout.strip()
        except OSError:
            return "?"

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": sh(["nproc"]),
        "memory": sh(["free", "-h"]).splitlines()[1] if sh(["free", "-h"]) else "?",
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor(),
        "python": sys.version.split()[0],
    }


def report(result: dict[str, Any], host: dict[str, str]) -> str:
    first, second, send = result["first_pass"], result["second_pass"], result["send"]
    lines = [
        f"machine: {host['cpu']}, nproc {host['nproc']}; memory: {host['memory']}; Python {host['python']}",
        f"date: {host['date']}",
        f"data: {result['loaded']['actions']:,} open actions, {result['loaded']['people']:,} people, "
        f"{result['loaded']['cases']:,} cases; loaded in {result['load_seconds']} s",
        "",
        f"first pass:  {first['seconds']:.3f} s; {first['candidates_scanned']:,} candidates "
        f"({first['candidates_per_second']:,}/s; {first['open_actions_per_second']:,} open actions/s); "
        f"{first['reminders_recorded']:,} reminders recorded ({first['reminders_per_second']:,}/s); "
        f"{first['emails_queued']:,} e-mails queued; {first['statements']} SQL statements",
        f"second pass: {second['seconds']:.3f} s; {second['candidates_scanned']:,} candidates "
        f"({second['candidates_per_second']:,}/s); {second['reminders_recorded']} reminders (nothing new)",
        f"send:        {send['seconds']:.3f} s; {send['emails_sent']:,} e-mails ({send['emails_per_second']:,}/s, "
        f"{send['megabytes']} MB), {send['reminders_delivered_per_second']:,} reminders delivered/s; "
        f"SMTP server received {send['received_by_smtp']:,}",
        "",
        "targets: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in result["targets"].items()),
        "",
        "statements of the first pass:",
        *(f"  {s}" for s in result["first_pass_statements"]),
        "",
        "plan of the candidate query:",
        *(f"  {line}" for line in result["candidate_plan"].splitlines()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chase_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=Shape.actions, help="open actions (default 100,000)")
    parser.add_argument("--due", type=int, default=Shape.due, help="of which due for a reminder (default 10,000)")
    parser.add_argument("--people", type=int, default=Shape.people, help="owners, leads and chairs (default 2,000)")
    parser.add_argument("--cases", type=int, default=Shape.cases, help="cases (default 5,000)")
    parser.add_argument("--profile", action="store_true", help="print cProfile of the passes and the send")
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    args = parser.parse_args(argv)
    shape = Shape(args.actions, args.due, args.people, args.cases)
    host = machine()
    with tempfile.TemporaryDirectory(prefix="roundtable-chase-bench-") as folder:
        servers = embedded.ensure_running(Path(folder) / "servers")
        try:
            upgrade(servers.database_url)
            outcome = asyncio.run(run(servers.database_url, servers.redis_url, Path(folder), shape, args.profile))
        finally:
            embedded.stop(servers)
    for text_ in outcome["profiles"]:
        print(text_)
    print(report(outcome["result"], host))
    if args.json:
        args.json.write_text(json.dumps({"machine": host, **outcome["result"]}, indent=2, default=str))
    targets = outcome["result"]["targets"]
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
