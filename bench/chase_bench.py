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

from server.actions.chase import earliest_due_date_to_scan
from server.actions.chasing import chase_pass
from server.config import load_settings
from server.live.events import NoPublisher
from server.notify.outbox import send_pending
from server.platform import embedded
from server.platform.db import import_all_models
from server.platform.migrations import upgrade
from server.platform.runtime import Runtime

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 in London
SECRET = "chase-bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 (a throw-away database)
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
    rules = runtime.settings.chase
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
        row = (uuid.uuid4(), case[0], f"Bench action {i}", owner[0], owner[3], due, "staying_safe")
        actions.append((*row, status, acceptance, stamp, stamp))
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
        """One line per run of the same statement: how many times, and how many rows."""
        groups: list[list[Any]] = []  # [head, times, rows]
        for statement, _, rows in self.seen:
            head = " ".join(statement.split())[:100]
            if groups and groups[-1][0] == head:
                groups[-1][1] += 1
                groups[-1][2] += rows
            else:
                groups.append([head, 1, rows])
        return [
            f"{times:>5} x {head}" + (f"  ({rows} parameter sets)" if rows > times else "")
            for head, times, rows in groups
        ]

    @property
    def count(self) -> int:
        return len(self.seen)

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
def phases(into: dict[str, float]) -> Iterator[None]:
    """Time the steps of a pass by wrapping the chasing module's own functions (the pass looks
    them up at call time). Reported as seconds per step; "enqueue" and "digest" are inside "tell"."""
    from server.actions import chasing

    names = [
        n
        for n in ("_candidates", "_record", "_tell", "_enqueue_all", "build_message", "_digest")
        if hasattr(chasing, n)
    ]
    originals = {name: getattr(chasing, name) for name in names}

    def timed(name: str, function: Any) -> Any:
        if asyncio.iscoroutinefunction(function):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    into[name] = into.get(name, 0.0) + time.perf_counter() - started

            return async_wrapper

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for name, function in originals.items():
        setattr(chasing, name, timed(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(chasing, name, function)


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


async def trial(
    runtime: Runtime, sink: _Counter, statements: Statements, profile: bool, profiles: list[str]
) -> dict[str, Any]:
    """From an empty ledger and outbox: the first pass, a second at the same time, the send."""
    async with runtime.engine.begin() as connection:
        await connection.execute(text("TRUNCATE reminder_ledger, notifications, outbox"))
    sink.messages = sink.bytes = 0
    settings = runtime.settings

    statements.seen.clear()
    statements.armed = True
    steps: dict[str, float] = {}
    cpu, started = time.process_time(), time.perf_counter()
    with profiled(profile, "first chase pass", profiles), phases(steps):
        first = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), NOW)
    first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    statements.armed = False

    second_steps: dict[str, float] = {}
    cpu, started = time.process_time(), time.perf_counter()
    with profiled(profile, "second chase pass (nothing new)", profiles), phases(second_steps):
        second = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), NOW + timedelta(minutes=1))
    second_s, second_cpu = time.perf_counter() - started, time.process_time() - cpu

    cpu, started = time.process_time(), time.perf_counter()
    with profiled(profile, "send_pending", profiles):
        sent = await send_pending(runtime.sessionmaker, settings)
    send_s, send_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "first_pass": {
            "seconds": round(first_s, 3),
            "python_cpu_seconds": round(first_cpu, 3),
            "candidates_scanned": first.scanned,
            "reminders_recorded": first.reminders,
            "emails_queued": first.emails,
            "candidates_per_second": round(first.scanned / first_s),
            "reminders_per_second": round(first.reminders / first_s),
            "statements": statements.count,
            "steps_seconds": {k.strip("_"): round(v, 3) for k, v in steps.items()},
        },
        "second_pass": {
            "seconds": round(second_s, 3),
            "python_cpu_seconds": round(second_cpu, 3),
            "candidates_scanned": second.scanned,
            "reminders_recorded": second.reminders,
            "candidates_per_second": round(second.scanned / second_s),
            "steps_seconds": {k.strip("_"): round(v, 3) for k, v in second_steps.items()},
        },
        "send": {
            "seconds": round(send_s, 3),
            "python_cpu_seconds": round(send_cpu, 3),
            "emails_sent": sent.sent,
            "failed": sent.failed,
            "received_by_smtp": sink.messages,
            "megabytes": round(sink.bytes / 1e6, 2),
            "emails_per_second": round(sent.sent / send_s, 1),
            "reminders_delivered_per_second": round(first.reminders / send_s),
        },
        "ledger_rows": await count(runtime, "SELECT count(*) FROM reminder_ledger"),
        "outbox_rows": await count(runtime, "SELECT count(*) FROM outbox"),
    }


async def run(
    database_url: str, redis_url: str, data_dir: Path, shape: Shape, repeat: int, profile: bool
) -> dict[str, Any]:
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
            await count(runtime, "SELECT count(*) FROM reminder_ledger")  # warm the pool
            trials = []
            for number in range(repeat):
                trials.append(await trial(runtime, sink, statements, profile and number == 0, profiles))
                if number == 0:
                    first_statements = statements.summary()
                    candidate_queries = sum(bool(re.search(r"\bFROM actions\b", sql)) for sql, _, _ in statements.seen)
                    candidate_sql, candidate_params = statements.candidate_query()
            plan = await explain(runtime, candidate_sql, candidate_params)
        finally:
            await runtime.close()
    best = min(trials, key=lambda t: t["first_pass"]["seconds"])
    median = sorted(trials, key=lambda t: t["first_pass"]["seconds"])[len(trials) // 2]

    def med(path: tuple[str, str]) -> float:
        values = sorted(t[path[0]][path[1]] for t in trials)
        return float(values[len(values) // 2])

    first_s, second_s, send_s = (
        med(("first_pass", "seconds")),
        med(("second_pass", "seconds")),
        med(("send", "seconds")),
    )
    reminders = median["first_pass"]["reminders_recorded"]
    result = {
        "shape": shape.__dict__,
        "loaded": loaded,
        "load_seconds": round(load_s, 2),
        "trials": trials,
        "median": median,
        "best": best,
        "targets": {
            "scan_10k_actions_per_s_steady_pass": median["second_pass"]["candidates_scanned"] / second_s >= SCAN_TARGET,
            "scan_10k_actions_per_s_first_pass": median["first_pass"]["candidates_scanned"] / first_s >= SCAN_TARGET,
            "record_200_reminders_per_s": reminders / first_s >= REMINDER_TARGET,
            "deliver_200_reminders_per_s": reminders / send_s >= REMINDER_TARGET,
            "candidate_query_uses_partial_index": "ix_actions_open_due_date" in plan,
            "one_candidate_query": candidate_queries == 1,
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
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def report(result: dict[str, Any], host: dict[str, str]) -> str:
    def steps(part: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v}" for k, v in part["steps_seconds"].items())

    lines = [
        f"machine: {host['cpu']}, nproc {host['nproc']}; {host['memory']}; load average {host['load']}",
        f"Python {host['python']}; date: {host['date']}",
        f"data: {result['loaded']['actions']:,} open actions ({result['shape']['due']:,} due for a reminder), "
        f"{result['loaded']['people']:,} people, {result['loaded']['cases']:,} cases; "
        f"loaded in {result['load_seconds']} s",
        "",
        "trial  first pass: s (cpu)  candidates/s  reminders/s | second pass: s (cpu)  candidates/s"
        " | send: s  e-mails/s",
    ]
    for number, t in enumerate(result["trials"], 1):
        first, second, send = t["first_pass"], t["second_pass"], t["send"]
        lines.append(
            f"{number:>5}  {first['seconds']:>7.3f} ({first['python_cpu_seconds']:.2f})  "
            f"{first['candidates_per_second']:>12,}  {first['reminders_per_second']:>11,} | "
            f"{second['seconds']:>8.3f} ({second['python_cpu_seconds']:.2f})  {second['candidates_per_second']:>12,} | "
            f"{send['seconds']:>7.3f}  {send['emails_per_second']:>9,}"
        )
    first, second, send = (result["median"][k] for k in ("first_pass", "second_pass", "send"))
    lines += [
        "",
        f"median trial: first pass {first['seconds']:.3f} s: {first['candidates_scanned']:,} candidates, "
        f"{first['reminders_recorded']:,} reminders recorded, {first['emails_queued']:,} e-mails queued, "
        f"{first['statements']} SQL statements",
        f"  steps (s): {steps(first)}",
        f"second pass (nothing new): {second['seconds']:.3f} s; steps (s): {steps(second)}",
        f"send: {send['emails_sent']:,} e-mails, {send['megabytes']} MB, {send['reminders_delivered_per_second']:,} "
        f"reminders delivered/s; SMTP server received {send['received_by_smtp']:,}; failed {send['failed']}",
        f"ledger rows {result['median']['ledger_rows']:,}; outbox rows {result['median']['outbox_rows']:,}",
        "",
        "targets: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in result["targets"].items()),
        "",
        "statements of the first pass:",
        *(f"  {s}" for s in result["first_pass_statements"]),
        "",
        "plan of the candidate query (EXPLAIN ANALYZE, after the passes):",
        *(f"  {line}" for line in result["candidate_plan"].splitlines()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chase_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=Shape.actions, help="open actions (default 100,000)")
    parser.add_argument("--due", type=int, default=Shape.due, help="of which due for a reminder (default 10,000)")
    parser.add_argument("--people", type=int, default=Shape.people, help="owners, leads and chairs (default 2,000)")
    parser.add_argument("--cases", type=int, default=Shape.cases, help="cases (default 5,000)")
    parser.add_argument("--repeat", type=int, default=3, help="trials on the same data (default 3; median reported)")
    parser.add_argument("--profile", action="store_true", help="print cProfile of the first trial")
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    args = parser.parse_args(argv)
    shape = Shape(args.actions, args.due, args.people, args.cases)
    host = machine()
    with tempfile.TemporaryDirectory(prefix="roundtable-chase-bench-") as folder:
        servers = embedded.ensure_running(Path(folder) / "servers")
        try:
            upgrade(servers.database_url)
            outcome = asyncio.run(
                run(servers.database_url, servers.redis_url, Path(folder), shape, args.repeat, args.profile)
            )
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
