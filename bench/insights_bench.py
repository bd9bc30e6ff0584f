"""Partnership insights benchmark: `python -m bench.insights_bench` (bench/README.md,
"Partnership insights").

5,000 cases (each with its own family agency and family member, a chair, a lead and three more
professionals from 12 agencies), 20,000 meetings over 13 months (19,000 ended), 5 agenda items a
meeting (4 opened, 1 for professionals only), ~5 attendees and ~20 turns a meeting, 200,000
actions (5% declined once). Starts the embedded PostgreSQL and Valkey in a temporary folder,
migrates, loads with COPY, ANALYZEs, then measures a year's insights:

* the service's read (every aggregate statement and the shaping), as the API runs it;
* GET /api/insights through the whole app (an administrator's session, in process);
* one case's figures (GET /api/cases/{id}/insights's read);

and prints EXPLAIN (ANALYZE, BUFFERS) of each statement for the year. Target from the issue: a
year's insights in under 1 second on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.chase_bench import machine
from server.actions.chase import ChaseSettings
from server.config import load_settings
from server.insights import queries, service
from server.insights.rules import Period
from server.platform import embedded
from server.platform.db import import_all_models
from server.platform.migrations import upgrade
from server.platform.runtime import Runtime
from server.timeutil import set_zone, zone

SECRET = "insights-bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 (a throw-away database)
TARGET_SECONDS = 1.0
YEAR = Period(date(2025, 12, 2), date(2026, 12, 1))
TODAY = date(2026, 12, 2)
CALENDAR = ChaseSettings()  # the defaults: Europe/London, no bank holidays
FIRST_DAY = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)  # 13 months of meetings, the last 12 asked for
DAYS = 395
PASSWORD = "insights bench password 2026"  # noqa: S105


@dataclass
class Shape:
    cases: int = 5_000
    meetings: int = 20_000
    actions: int = 200_000
    agencies: int = 12
    people: int = 2_000
    seed: int = 7


def _rows(shape: Shape) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(shape.seed)
    stamp = FIRST_DAY - timedelta(days=30)
    sectors = ["health", "education", "social_care", "police", "early_help", "voluntary", "housing", "other"]
    agencies = [(uuid.uuid4(), f"Agency {i}", sectors[i % len(sectors)]) for i in range(shape.agencies)]
    users = [
        (uuid.uuid4(), f"worker{i}@bench.example", f"Worker {i}", rng.choice(agencies)[0]) for i in range(shape.people)
    ]
    family_agencies, family_users, cases, members = [], [], [], []
    teams: list[list[tuple[uuid.UUID, uuid.UUID]]] = []  # per case: (user, agency)
    for c in range(shape.cases):
        fam_agency = (uuid.uuid4(), f"Family {c}", "family")
        fam_user = (uuid.uuid4(), f"parent{c}@bench.example", f"Parent {c}", fam_agency[0])
        family_agencies.append(fam_agency)
        family_users.append(fam_user)
        chosen = rng.sample(users, 5)
        case_id = uuid.uuid4()
        cases.append((case_id, f"B-{c:06d}", f"Child {c}", chosen[1][0]))
        members += [(case_id, chosen[0][0], "chair", stamp)]
        members += [(case_id, person[0], "professional", stamp) for person in chosen[1:]]
        members.append((case_id, fam_user[0], "family", stamp))
        teams.append([(person[0], person[3]) for person in chosen] + [(fam_user[0], fam_agency[0])])
    meetings, items, attendance, turns, reviews = [], [], [], [], []
    meeting_case: list[int] = []
    for m in range(shape.meetings):
        c = m % shape.cases
        case_id = cases[c][0]
        team = teams[c]
        when = FIRST_DAY + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(480))
        ended = m % 20 != 0  # 1 in 20 still scheduled
        meeting_id = uuid.uuid4()
        meeting_case.append(c)
        meetings.append(
            (
                meeting_id,
                case_id,
                "Bench meeting",
                "tac",
                when,
                team[0][0],
                "ended" if ended else "scheduled",
                when if ended else None,
                when + timedelta(minutes=75) if ended else None,
            )
        )
        if not ended:
            continue
        # minutes: most approved within a fortnight, some after a month, a few still drafts
        finished = when + timedelta(minutes=75)
        wait = rng.choice([None, *[timedelta(days=rng.randrange(1, 14))] * 8, timedelta(days=rng.randrange(22, 60))])
        reviews.append(
            (meeting_id, "draft" if wait is None else "approved", (finished + timedelta(days=7)).date(), finished,
             None if wait is None else finished + wait)
        )  # fmt: skip
        present = [p for p in team if rng.random() < 0.85] or team[:1]
        for person, agency in present:
            attendance.append((meeting_id, person, agency, when))
        for position in range(5):
            item_id = uuid.uuid4()
            opened = position < 4
            items.append((item_id, meeting_id, position, f"Item {position}", position == 4, when if opened else None))
            if not opened:
                continue
            for k in range(5):
                person, agency = rng.choice(present)
                start = when + timedelta(minutes=position * 15 + k * 3)
                turns.append(
                    (
                        uuid.uuid4(),
                        meeting_id,
                        person,
                        agency,
                        item_id,
                        "contribution",
                        start,
                        start + timedelta(seconds=rng.randrange(20, 240)),
                    )
                )
    actions, events = [], []
    statuses = ["open"] * 3 + ["in_progress"] * 2 + ["done"] * 4 + ["blocked", "cancelled"]
    for a in range(shape.actions):
        c = rng.randrange(shape.cases)
        owner, agency = rng.choice(teams[c][1:])
        created = FIRST_DAY + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(600))
        due = (created + timedelta(days=rng.randrange(7, 60))).date()
        status = rng.choice(statuses)
        closed = created + timedelta(days=rng.randrange(3, 70)) if status in ("done", "cancelled") else None
        action_id = uuid.uuid4()
        actions.append(
            (
                action_id,
                cases[c][0],
                "Bench action",
                owner,
                agency,
                due,
                "staying_safe",
                status,
                "accepted",
                created,
                created,
                closed,
            )
        )
        if a % 20 == 0:
            events.append((uuid.uuid4(), action_id, owner, "declined", created + timedelta(days=1)))
    return {
        "agencies": agencies + family_agencies,
        "users": users + family_users,
        "cases": cases,
        "case_members": members,
        "meetings": meetings,
        "agenda_items": items,
        "attendance": attendance,
        "turns": turns,
        "actions": actions,
        "action_events": events,
        "minutes_reviews": reviews,
    }


COLUMNS = {
    "agencies": ["id", "name", "sector"],
    "users": ["id", "email", "name", "agency_id"],
    "cases": ["id", "reference", "display_name", "lead_professional_id"],
    "case_members": ["case_id", "user_id", "role", "added_at"],
    "meetings": ["id", "case_id", "title", "kind", "scheduled_at", "chair_id", "status", "started_at", "ended_at"],
    "agenda_items": ["id", "meeting_id", "position", "title", "professionals_only", "opened_at"],
    "attendance": ["meeting_id", "user_id", "agency_id", "joined_at"],
    "turns": ["id", "meeting_id", "user_id", "agency_id", "agenda_item_id", "kind", "started_at", "ended_at"],
    "actions": [
        "id", "case_id", "title", "owner_id", "agency_id", "due_date", "outcome_area", "status", "acceptance",
        "created_at", "updated_at", "closed_at",
    ],
    "action_events": ["id", "action_id", "actor_id", "kind", "created_at"],
    "minutes_reviews": ["meeting_id", "status", "draft_until", "drafted_at", "approved_at"],
}  # fmt: skip


async def load(runtime: Runtime, shape: Shape) -> dict[str, int]:
    rows = _rows(shape)
    async with runtime.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        for table, columns in COLUMNS.items():
            await raw.copy_records_to_table(table, records=rows[table], columns=columns)
        for table in COLUMNS:
            await raw.execute(f"VACUUM ANALYZE {table}")
    return {table: len(found) for table, found in rows.items()}


def _scope(case_id: uuid.UUID | None = None) -> queries.Scope:
    start, end = YEAR.bounds(zone())
    return queries.Scope(start, end, TODAY, CALENDAR, case_id)


async def read_once(runtime: Runtime, case_id: uuid.UUID | None = None) -> tuple[float, int]:
    """One reading as the API makes it (service.read: count what is new, add up, shape)."""
    started = time.perf_counter()
    async with runtime.sessionmaker() as session:
        insights = await service.read(session, runtime.settings, YEAR, case_id)
    return time.perf_counter() - started, insights.meetings_held


async def explain_all(runtime: Runtime, *, counting: bool = False) -> dict[str, str]:
    """EXPLAIN ANALYZE of the reading's statements; with ``counting``, of counting the year's
    meetings instead, in a transaction that is rolled back (so the cold reading still counts)."""
    scope = _scope()
    plans = {}
    wanted = {"count_meetings": (queries.COUNT_MEETINGS, "m")} if counting else {
        **{name: (template, "a" if name in ("actions", "declined") else "c")
           for name, template in queries.STATEMENTS.items()},
        "minutes": (queries.MINUTES, "c"),
    }  # fmt: skip
    async with runtime.sessionmaker() as session:
        for name, (template, alias) in wanted.items():
            params = {**scope.params(), "zone": scope.zone, **({"today": scope.today} if name == "actions" else {})}
            if counting:
                params = await queries.new_meeting_params(session, scope) or params
            statement = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + queries.sql(template, scope, alias)
            rows = (await session.execute(text(statement), params)).scalars().all()
            plans[name] = "\n".join(rows)
        await session.rollback()
    return plans


async def http_once(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.get("/api/insights", params={"from": YEAR.first.isoformat(), "to": YEAR.last.isoformat()})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


async def run(database_url: str, redis_url: str, data_dir: Path, shape_: Shape, repeat: int) -> dict[str, Any]:
    import_all_models()
    env = {
        "ROUNDTABLE_DATABASE_URL": database_url,
        "ROUNDTABLE_REDIS_URL": redis_url,
        "ROUNDTABLE_SECRET_KEY": SECRET,
        "ROUNDTABLE_DATA_DIR": str(data_dir),
        "ROUNDTABLE_BASE_URL": "http://bench.local",
    }
    settings = load_settings(env)
    set_zone(settings.chase.timezone)
    runtime = Runtime(settings, database_url, redis_url)
    try:
        started = time.perf_counter()
        loaded = await load(runtime, shape_)
        load_s = time.perf_counter() - started
        counting_plan = await explain_all(runtime, counting=True)
        cold, _ = await read_once(runtime)  # the first reading counts the year's 19,000 meetings
        service = [await read_once(runtime) for _ in range(repeat)]
        async with runtime.engine.connect() as connection:
            case_id = (await connection.execute(text("SELECT id FROM cases LIMIT 1"))).scalar_one()
        one_case = [await read_once(runtime, case_id) for _ in range(repeat)]
        http = await _through_the_app(runtime, repeat)
        plans = {**counting_plan, **await explain_all(runtime)}
    finally:
        await runtime.close()
    seconds = [s for s, _ in service]
    return {
        "shape": shape_.__dict__,
        "loaded": loaded,
        "load_seconds": round(load_s, 1),
        "meetings_held_in_the_year": service[0][1],
        "first_reading_seconds": round(cold, 3),
        "service_seconds": [round(s, 3) for s in seconds],
        "service_median": round(statistics.median(seconds), 3),
        "http_seconds": [round(s, 3) for s in http],
        "http_median": round(statistics.median(http), 3),
        "one_case_seconds": [round(s, 4) for s, _ in one_case],
        "one_case_median": round(statistics.median(s for s, _ in one_case), 4),
        "targets": {"year_under_1_s_service": statistics.median(seconds) < TARGET_SECONDS,
                    "year_under_1_s_http": statistics.median(http) < TARGET_SECONDS},
        "plans": plans,
    }  # fmt: skip


async def _through_the_app(runtime: Runtime, repeat: int) -> list[float]:
    from server.app import create_app
    from server.audit.service import Actor
    from server.people import service as people

    async with runtime.sessionmaker() as session:
        agency = await people.create_agency(session, Actor(None), "Bench administration", "other")
        await people.create_user(
            session, Actor(None), people.NewUser("admin@bench.example", "Bench Admin", agency.id, PASSWORD, True)
        )
    app = create_app(runtime)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
            await client.get("/sign-in")
            signed = await client.post(
                "/api/session",
                json={"email": "admin@bench.example", "password": PASSWORD},
                headers={"x-csrftoken": client.cookies.get("csrftoken") or ""},
            )
            assert signed.status_code == 200, signed.text
            await http_once(client)
            return [await http_once(client) for _ in range(repeat)]


def report(result: dict[str, Any], host: dict[str, str]) -> str:
    loaded = result["loaded"]
    lines = [
        f"machine: {host['cpu']}, nproc {host['nproc']}; {host['memory']}; load average {host['load']}",
        f"Python {host['python']}; date: {host['date']}",
        "data: "
        + ", ".join(f"{n:,} {table}" for table, n in loaded.items())
        + f"; loaded in {result['load_seconds']} s",
        f"a year ({YEAR.first} to {YEAR.last}): {result['meetings_held_in_the_year']:,} meetings ended in it",
        "",
        f"first reading (counts the year's meetings), s: {result['first_reading_seconds']}",
        f"service read (statements + shaping), s: {result['service_seconds']}  median {result['service_median']}",
        f"GET /api/insights through the app, s:   {result['http_seconds']}  median {result['http_median']}",
        f"one case's figures, s:                  {result['one_case_seconds']}  median {result['one_case_median']}",
        "",
        "targets: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in result["targets"].items()),
    ]
    for name, plan in result["plans"].items():
        lines += ["", f"--- EXPLAIN ANALYZE: {name} ---", plan]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.insights_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=Shape.cases)
    parser.add_argument("--meetings", type=int, default=Shape.meetings)
    parser.add_argument("--actions", type=int, default=Shape.actions)
    parser.add_argument("--repeat", type=int, default=5, help="timed reads of each kind (default 5; median reported)")
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    args = parser.parse_args(argv)
    shape_ = Shape(cases=args.cases, meetings=args.meetings, actions=args.actions)
    host = machine()
    with tempfile.TemporaryDirectory(prefix="roundtable-insights-bench-") as folder:
        servers = embedded.ensure_running(Path(folder) / "servers")
        try:
            upgrade(servers.database_url)
            result = asyncio.run(run(servers.database_url, servers.redis_url, Path(folder), shape_, args.repeat))
        finally:
            embedded.stop(servers)
    print(report(result, host))
    if args.json:
        args.json.write_text(json.dumps({"machine": host, **result}, indent=2, default=str))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
