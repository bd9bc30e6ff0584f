"""Exactly once, with nothing lost: two passes at once, two worker processes at once, a worker
killed in the middle of a pass, and an SMTP outage. Real PostgreSQL, real Redis, and a real SMTP
server on loopback; every e-mail is read back and every reminder counted across all of them."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from server.actions.chase import ActionFacts, Recipient, due_reminders
from server.actions.chasing import ChaseSummary, chase_pass
from server.actions.models import ReminderLedger
from server.config import REPO_ROOT, Settings
from server.live.events import NoPublisher
from server.notify.models import Notification, OutboxMessage
from server.notify.outbox import SendReport, send_pending
from server.platform.runtime import Runtime
from tests.smtp import Item, SmtpSink, count_items, running_sink

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday, 10:00 in London
NOW_ISO = NOW.isoformat()
SECRET = "exactly-once-test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on a free loopback port, for this test only."""
    with running_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpSink) -> Settings:
    return dataclasses.replace(settings, smtp_url=smtp.url)


# --- a world of many actions, loaded in bulk, and what the chase owes it ---------------------

LedgerKey = tuple[uuid.UUID, str, int]


@dataclasses.dataclass
class World:
    emails: dict[uuid.UUID, str]
    keys: dict[LedgerKey, uuid.UUID]
    """Every reminder due at NOW: its ledger key, and to whom."""

    @property
    def items(self) -> Counter[Item]:
        """Each reminder as its recipient must receive it: exactly once."""
        return Counter(
            (self.emails[person], action_id, stage.split(":", 1)[0])
            for (action_id, stage, _), person in self.keys.items()
        )


async def load_world(runtime: Runtime, settings: Settings, *, actions: int, people: int, seed: int) -> World:
    """Cases with a lead and a chair, and ``actions`` actions spread over ``people`` owners, due from
    four weeks ago to four weeks ahead, in every status the chase cares about (bulk COPY)."""
    rng = random.Random(seed)
    rules = settings.chase
    agency = uuid.uuid4()
    persons = [uuid.uuid4() for _ in range(people)]
    emails = {person: f"person{i}@load.example" for i, person in enumerate(persons)}
    cases = []
    for i in range(max(2, people // 4)):
        lead, chair = rng.sample(persons, 2)  # a lead or chair may own actions too: one digest
        cases.append((uuid.uuid4(), lead, chair, f"L-{i}"))
    rows, keys = [], {}
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(actions):
        case_id, lead, chair, _ = rng.choice(cases)
        owner = rng.choice(persons)
        due = NOW.date() + timedelta(days=rng.randint(-28, 28))
        status, acceptance, declined, blocked = rng.choices(
            [
                ("open", "pending", 0, 0),
                ("in_progress", "accepted", 0, 0),
                ("blocked", "accepted", 0, 1),
                ("open", "declined", 1, 0),
                ("done", "accepted", 0, 0),
            ],
            weights=[60, 20, 6, 6, 8],
        )[0]
        action_id = uuid.uuid4()
        row = (action_id, case_id, f"Load action {i}", owner, agency, due, "staying_safe", status, acceptance)
        rows.append((*row, declined, blocked, stamp, stamp))
        facts_status = "declined" if acceptance == "declined" and status == "open" else status
        facts = ActionFacts(action_id, facts_status, due, None, declined, blocked)
        whom = {Recipient.OWNER: owner, Recipient.LEAD: lead, Recipient.CHAIR: chair}
        for reminder in due_reminders(facts, (), NOW, rules):
            keys[reminder.key] = whom[reminder.recipient]
    async with runtime.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("INSERT INTO agencies (id, name, sector) VALUES ($1, 'Load agency', 'health')", agency)
        await raw.copy_records_to_table(
            "users",
            records=[(p, emails[p], f"Person {i}", agency) for i, p in enumerate(persons)],
            columns=["id", "email", "name", "agency_id"],
        )
        await raw.copy_records_to_table(
            "cases",
            records=[(c, ref, f"Child {ref}", lead) for c, lead, _, ref in cases],
            columns=["id", "reference", "display_name", "lead_professional_id"],
        )
        await raw.copy_records_to_table(
            "case_members",
            records=[(c, chair, "chair", stamp) for c, _, chair, _ in cases],
            columns=["case_id", "user_id", "role", "added_at"],
        )
        await raw.copy_records_to_table(
            "actions",
            records=rows,
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
                "declined_count",
                "blocked_count",
                "created_at",
                "updated_at",
            ],
        )
        await raw.execute("ANALYZE actions")
    return World(emails, keys)


async def ledger(runtime: Runtime) -> Counter[tuple[LedgerKey, uuid.UUID]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(
                ReminderLedger.action_id,
                ReminderLedger.stage,
                ReminderLedger.occurrence,
                ReminderLedger.recipient_id,
            )
        )
        return Counter(((a, s, o), r) for a, s, o, r in rows)


async def notifications(runtime: Runtime) -> Counter[tuple[uuid.UUID, uuid.UUID, str]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(select(Notification.user_id, Notification.link, Notification.kind))
        return Counter(
            (user, uuid.UUID(link.rsplit("/", 1)[1]), kind.removeprefix("chase_")) for user, link, kind in rows
        )


async def count(runtime: Runtime, model: type, *where: object) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def assert_each_reminder_once(runtime: Runtime, world: World, smtp: SmtpSink | None) -> None:
    """The ledger holds each due reminder once and nothing else, the in-app notifications match
    it one to one, and (if a sink is given) every recipient received each item exactly once."""
    assert world.keys, "the world must owe some reminders"
    recorded = await ledger(runtime)
    assert recorded == Counter(world.keys.items())
    assert await notifications(runtime) == Counter(
        (person, action_id, stage.split(":", 1)[0]) for (action_id, stage, _), person in world.keys.items()
    )
    if smtp is not None:
        received = count_items(smtp.messages)
        doubled = {item: n for item, n in received.items() if n > 1}
        assert not doubled, f"{len(doubled)} reminders arrived more than once"
        assert received == world.items
        assert await count(runtime, OutboxMessage, OutboxMessage.sent_at.is_(None)) == 0
        assert len(smtp.messages) == await count(runtime, OutboxMessage)


def cli_env(endpoints: tuple[str, str], smtp: SmtpSink, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    env.update(
        ROUNDTABLE_DATABASE_URL=endpoints[0],
        ROUNDTABLE_REDIS_URL=endpoints[1],
        ROUNDTABLE_SECRET_KEY=SECRET,
        ROUNDTABLE_SMTP_URL=smtp.url,
        ROUNDTABLE_DATA_DIR=str(data_dir),
        ROUNDTABLE_BASE_URL="http://testserver.local",
        PYTHONUNBUFFERED="1",
    )
    return env


CHASE = [sys.executable, "-m", "server.cli", "chase", "--at", NOW_ISO]


async def start_chase(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *CHASE, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def finish(process: asyncio.subprocess.Process) -> str:
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


# --- (a) two passes at once in one process ------------------------------------------------------


@asynccontextmanager
async def ledger_gate(runtime: Runtime, passes: int) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Hold the ledger in SHARE mode: passes read their candidates, then queue at their ledger
    INSERT. ``await open_()`` waits until ``passes`` of them queue there, then lets all go at
    once, so they race for the same keys rather than run one after the other."""
    async with runtime.engine.connect() as holder:
        await holder.execute(text("LOCK TABLE reminder_ledger IN SHARE MODE"))

        async def open_() -> None:
            deadline = time.monotonic() + 60
            async with runtime.engine.connect() as watcher:
                while True:
                    waiting = (
                        await watcher.execute(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO reminder_ledger%'"
                            )
                        )
                    ).scalar_one()
                    await watcher.commit()
                    if waiting >= passes:
                        break
                    assert time.monotonic() < deadline, f"only {waiting} of {passes} passes reached the ledger"
                    await asyncio.sleep(0.005)
            await holder.rollback()

        yield open_
        if holder.in_transaction():
            await holder.rollback()


@pytest.mark.parametrize("round_", range(4))
async def test_two_passes_at_once_record_and_send_each_reminder_once(
    runtime: Runtime, mail_settings: Settings, smtp: SmtpSink, round_: int
) -> None:
    world = await load_world(runtime, mail_settings, actions=200, people=24, seed=round_)

    def two_passes() -> Awaitable[list[ChaseSummary]]:
        return asyncio.gather(*(chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), NOW) for _ in range(2)))

    if round_ % 2:  # as the event loop interleaves them
        first, second = await two_passes()
    else:  # both at the ledger INSERT together
        async with ledger_gate(runtime, passes=2) as open_:
            both = asyncio.ensure_future(two_passes())
            await open_()
            first, second = await both
    assert first.reminders + second.reminders == len(world.keys)
    assert first.scanned == second.scanned  # both saw every candidate; the ledger split the work
    # Both passes may send e-mail, so each is sent by more than one worker at once too.
    reports = await asyncio.gather(*(send_pending(runtime.sessionmaker, mail_settings) for _ in range(3)))
    assert sum(r.sent for r in reports) == first.emails + second.emails
    assert sum(r.failed for r in reports) == 0
    await assert_each_reminder_once(runtime, world, smtp)
    # And a third pass, later the same morning, has nothing left to do.
    third = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), NOW + timedelta(minutes=1))
    assert (third.reminders, third.emails) == (0, 0)
    await assert_each_reminder_once(runtime, world, smtp)


# --- (b) two worker processes at once ----------------------------------------------------------


async def test_two_chase_commands_at_once_send_each_reminder_once(
    runtime: Runtime,
    mail_settings: Settings,
    smtp: SmtpSink,
    endpoints: tuple[str, str],
    tmp_path: Path,
) -> None:
    world = await load_world(runtime, mail_settings, actions=2000, people=60, seed=7)
    env = cli_env(endpoints, smtp, tmp_path)
    async with ledger_gate(runtime, passes=2) as open_:
        processes = [await start_chase(env) for _ in range(2)]
        await open_()
        outputs = await asyncio.gather(*(finish(process) for process in processes))
    scanned = {int(out.split("Scanned ")[1].split(" ")[0]) for out in outputs}
    assert len(scanned) == 1, outputs  # both read every candidate before either wrote
    recorded = sum(int(out.split(" reminders recorded")[0].rsplit(" ", 1)[1]) for out in outputs)
    assert recorded == len(world.keys), outputs
    sent = sum(int(out.split("E-mail sent: ")[1].split(";")[0]) for out in outputs)
    assert sent == len(smtp.messages), outputs
    await assert_each_reminder_once(runtime, world, smtp)


# --- (c) a worker killed in the middle of a pass -----------------------------------------------

# What a pass sends, in order; a kill is aimed at the first statement of a stage (or any later one).
PASS_STATEMENTS = {
    "scan": ("SELECT actions.id",),
    "record": ("INSERT INTO reminder_ledger", "INSERT INTO notifications", "SELECT users.", "INSERT INTO outbox"),
    "tell": ("INSERT INTO notifications", "SELECT users.", "INSERT INTO outbox"),
}


async def _wait_for_statement(runtime: Runtime, process: asyncio.subprocess.Process, stage: str) -> str:
    """Poll pg_stat_activity until another backend, inside a transaction, runs (or has just run)
    one of the stage's statements; return what it runs."""
    starts = PASS_STATEMENTS[stage]
    deadline = time.monotonic() + 60
    async with runtime.engine.connect() as connection:
        while time.monotonic() < deadline:
            assert process.returncode is None, f"the pass ended before reaching {stage!r}"
            rows = await connection.execute(
                text(
                    "SELECT state, query FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                )
            )
            await connection.commit()
            for state, query in rows:
                if query.lstrip().startswith(starts):
                    return f"{state}: {query.lstrip()[:40]}"
            await asyncio.sleep(0.002)
    raise AssertionError(f"the pass never reached {stage!r}")


async def _client_backends(runtime: Runtime) -> set[int]:
    async with runtime.engine.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
            )
        )
        return set(result.scalars())


async def _sessions_ended(runtime: Runtime, before: set[int]) -> None:
    """Wait until the killed process's database sessions are gone (and so rolled back)."""
    for _ in range(3000):
        if not await _client_backends(runtime) - before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the killed worker's database sessions never ended")


@pytest.mark.parametrize("stage", ["scan", "record", "tell"])
async def test_a_worker_killed_mid_pass_loses_nothing_and_doubles_nothing(
    runtime: Runtime,
    mail_settings: Settings,
    smtp: SmtpSink,
    endpoints: tuple[str, str],
    tmp_path: Path,
    stage: str,
) -> None:
    world = await load_world(runtime, mail_settings, actions=12_000, people=300, seed=11)
    env = cli_env(endpoints, smtp, tmp_path)
    ours = await _client_backends(runtime)
    process = await start_chase(env)
    doing = await _wait_for_statement(runtime, process, stage)
    await asyncio.sleep(random.uniform(0, 0.01))  # a random point inside the stage
    process.send_signal(signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL
    await _sessions_ended(runtime, ours)

    # The pass commits whole: a killed one leaves no ledger row, notification or e-mail behind.
    left = (
        await count(runtime, ReminderLedger),
        await count(runtime, Notification),
        await count(runtime, OutboxMessage),
    )
    assert left == (0, 0, 0), f"killed during {doing!r}"
    assert smtp.messages == []

    # Restarted, the chase does the whole job, once; a pass after that finds nothing to do.
    out = await finish(await start_chase(env))
    assert f"{len(world.keys)} reminders recorded" in out
    await assert_each_reminder_once(runtime, world, smtp)
    again = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), NOW)
    assert (again.reminders, again.emails) == (0, 0)
    assert await send_pending(runtime.sessionmaker, mail_settings) == SendReport(0, 0)
    await assert_each_reminder_once(runtime, world, smtp)


async def test_a_worker_killed_while_sending_repeats_at_most_the_message_in_flight(
    runtime: Runtime,
    mail_settings: Settings,
    smtp: SmtpSink,
    endpoints: tuple[str, str],
    tmp_path: Path,
) -> None:
    world = await load_world(runtime, mail_settings, actions=400, people=40, seed=13)
    summary = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), NOW)
    assert summary.emails > 20
    smtp.delay = 0.02  # a slow mail server: the send takes a while
    env = cli_env(endpoints, smtp, tmp_path)
    ours = await _client_backends(runtime)
    process = await start_chase(env)  # its own pass finds nothing new; it sends what is queued
    while len(smtp.messages) < 10:
        assert process.returncode is None, "the send ended before it could be killed"
        await asyncio.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    await _sessions_ended(runtime, ours)
    smtp.delay = 0
    await send_pending(runtime.sessionmaker, mail_settings)  # the restarted worker
    # SMTP has no way to make a send idempotent: a message the server accepted just before the
    # kill, but whose "sent" was never committed, goes again. Each message commits on its own, so
    # that is at most the one in flight, and it goes again under the same Message-ID.
    ids = Counter(received.message["Message-ID"] for received in smtp.messages)
    repeated = [message_id for message_id, n in ids.items() if n > 1]
    assert len(repeated) <= 1, repeated
    assert all(ids[message_id] == 2 for message_id in repeated)
    received = count_items(smtp.messages)
    assert set(received) == set(world.items)  # nothing lost
    in_flight = [received for received in smtp.messages if received.message["Message-ID"] in repeated][:1]
    extra = sum(received.values()) - sum(world.items.values())
    assert extra == sum(count_items(in_flight).values())
    assert await count(runtime, OutboxMessage, OutboxMessage.sent_at.is_(None)) == 0


# --- (d) SMTP down, then up ----------------------------------------------------------------------


async def _outbox(runtime: Runtime) -> list[OutboxMessage]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage)))


async def _make_due_now(runtime: Runtime) -> None:
    """Time moves on: every waiting message's back-off has run out (a test cannot wait an hour)."""
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).values(next_attempt_at=func.now())
        )


async def test_smtp_down_then_up_delivers_every_email_once(
    runtime: Runtime, mail_settings: Settings, smtp: SmtpSink
) -> None:
    world = await load_world(runtime, mail_settings, actions=300, people=30, seed=3)
    summary = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), NOW)
    assert summary.emails > 1

    smtp.stop()
    before = datetime.now(UTC)
    report = await send_pending(runtime.sessionmaker, mail_settings)
    assert (report.sent, report.failed) == (0, summary.emails)
    waiting = await _outbox(runtime)
    assert len(waiting) == summary.emails
    for message in waiting:
        assert message.sent_at is None
        assert message.attempts == 1
        assert "cannot reach the mail server" in (message.last_error or "")
        assert message.next_attempt_at >= before + timedelta(seconds=29)  # back-off: 30 s first
    # Retrying at once does nothing: the back-off has not run out.
    assert await send_pending(runtime.sessionmaker, mail_settings) == SendReport(0, 0)

    # Still down when the back-off runs out: the wait doubles.
    await _make_due_now(runtime)
    before = datetime.now(UTC)
    report = await send_pending(runtime.sessionmaker, mail_settings)
    assert (report.sent, report.failed) == (0, summary.emails)
    for message in await _outbox(runtime):
        assert (message.attempts, message.sent_at) == (2, None)
        assert before + timedelta(seconds=59) <= message.next_attempt_at <= before + timedelta(seconds=65)

    # The server comes back; nothing goes until the back-off runs out, then everything, once.
    smtp.start()
    assert await send_pending(runtime.sessionmaker, mail_settings) == SendReport(0, 0)
    assert smtp.messages == []
    await _make_due_now(runtime)
    report = await send_pending(runtime.sessionmaker, mail_settings)
    assert (report.sent, report.failed) == (summary.emails, 0)
    await assert_each_reminder_once(runtime, world, smtp)
    for message in await _outbox(runtime):
        assert message.sent_at is not None
        assert message.attempts == 3
    # A third send finds nothing.
    assert await send_pending(runtime.sessionmaker, mail_settings) == SendReport(0, 0)
    assert len(smtp.messages) == summary.emails


async def test_a_server_failing_in_the_middle_of_a_batch_gets_only_the_rest_again(
    runtime: Runtime, mail_settings: Settings, smtp: SmtpSink
) -> None:
    """The server starts refusing (451, try later) in the middle of a batch: what it accepted is
    marked sent, the rest waits with a back-off, and nothing arrives twice once it recovers."""
    world = await load_world(runtime, mail_settings, actions=300, people=30, seed=5)
    summary = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), NOW)
    assert summary.emails > 10
    smtp.refuse_after(5)
    report = await send_pending(runtime.sessionmaker, mail_settings)
    assert (report.sent, report.failed) == (5, summary.emails - 5)
    assert len(smtp.messages) == 5
    waiting = [m for m in await _outbox(runtime) if m.sent_at is None]
    assert len(waiting) == summary.emails - 5
    assert all(m.attempts == 1 and "451" in (m.last_error or "") for m in waiting)

    smtp.accept_all()
    await _make_due_now(runtime)
    report = await send_pending(runtime.sessionmaker, mail_settings)
    assert (report.sent, report.failed) == (summary.emails - 5, 0)
    await assert_each_reminder_once(runtime, world, smtp)
