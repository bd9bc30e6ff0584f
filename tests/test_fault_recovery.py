"""Valkey killed and PostgreSQL restarted under running Roundtable processes (tests/faults.py).

Valkey SIGKILLed: a chair's changes are committed and answered as successes, everything that
reads works, and signing in fails closed (503 with Retry-After, never a 500, never a free guess).
Started again on the same port: the limit still holds, people sign in at once, and the worker
(`roundtable worker`, and the one inside `roundtable run`) is alive and sends the e-mail that a
change made during the outage queued.

PostgreSQL stopped (fast shutdown): every call answers 503 within a few seconds, the API with
its error shape, code `database_unavailable` and Retry-After, pages with a sentence saying so,
sockets closed with 1013 (try again later). Started again: the first calls succeed with nothing
restarted, and the workers, which lived through it, send the e-mail of a change made afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import websockets

from tests.faults import Caller, FaultServers, create_action, fault_servers, hand_to_lead, mail_to
from tests.smtp import SmtpSink, running_sink
from tests.support import Team

pytestmark = pytest.mark.slow
WRONG = "not the right password at all"
A_FEW_SECONDS = 3.0


@pytest.fixture(scope="module")
def servers() -> Iterator[FaultServers]:
    with fault_servers() as started:
        yield started


@pytest.fixture(scope="module")
async def team(servers: FaultServers) -> Team:
    return await servers.make_team()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with running_sink() as sink:
        yield sink


@pytest.fixture(autouse=True)
async def fresh(servers: FaultServers, smtp: SmtpSink) -> AsyncIterator[None]:
    """Each test starts with both servers up, no sign-in attempts counted and no e-mail."""
    await servers.forget_sign_in_attempts()
    smtp.clear()
    yield
    if not servers.valkey_running:
        servers.start_valkey()
    if not servers.postgres_running:
        servers.start_postgres()


# --- Valkey -----------------------------------------------------------------------------------


async def test_valkey_killed_changes_commit_reads_work_sign_in_fails_closed_and_the_worker_carries_on(
    servers: FaultServers, team: Team, smtp: SmtpSink
) -> None:
    meeting = f"/api/meetings/{team.meeting.id}"
    async with (
        servers.roundtable("serve") as web,
        servers.roundtable("worker", ROUNDTABLE_SMTP_URL=smtp.url) as worker,
    ):
        await asyncio.gather(web.ready(), worker.ready())
        chair, guesser, lead = Caller(web.url), Caller(web.url), Caller(web.url)
        assert (await chair.sign_in(team.chair.email)).status_code == 200
        assert (await chair.call("POST", f"{meeting}/start")).status_code == 200
        for _ in range(3):  # counted in Valkey, which keeps them (append-only file, every second)
            assert (await guesser.sign_in(team.member.email, WRONG)).status_code == 422
        await asyncio.sleep(1.1)

        servers.kill_valkey()

        # A chair's changes are committed and answered as such, at normal speed.
        item = await chair.call("POST", f"{meeting}/agenda", json={"title": "Agreed while Valkey was down"})
        assert item.status_code == 201, item.text
        assert chair.answers[-1].seconds < 1.0
        await hand_to_lead(chair, team, await create_action(chair, team, "Book the paediatric review"))

        # Everything that reads works, and shows what was just committed.
        room = await chair.call("GET", meeting)
        assert room.status_code == 200
        assert "Agreed while Valkey was down" in [entry["title"] for entry in room.json()["agenda"]]
        for page in ("/", f"/meetings/{team.meeting.id}", f"/meetings/{team.meeting.id}/room", "/actions"):
            assert (await chair.call("GET", page)).status_code == 200, page
        assert (await chair.call("GET", "/api/cases")).status_code == 200

        # Signing in fails closed: the right password and wrong ones alike, so nothing is guessed.
        for password in (WRONG, WRONG, WRONG, "correct horse battery staple"):
            refused = await guesser.sign_in(team.member.email, password)
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "signin_unavailable"
            assert int(refused.headers["retry-after"]) > 0
            assert guesser.answers[-1].seconds < 1.0
        form = await guesser.call("POST", "/sign-in", data={"email": team.lead.email, "password": "x"})
        assert form.status_code == 503
        assert "Signing in is paused for a few seconds" in form.text

        await worker.logged("lost Redis", within=5)
        assert worker.alive
        assert web.alive

        servers.start_valkey()
        back = time.monotonic()

        # The first sign-in after the restart works, and the limit kept its counts: 3 + 2 = 5.
        assert (await lead.sign_in(team.lead.email)).status_code == 200
        for _ in range(2):
            assert (await guesser.sign_in(team.member.email, WRONG)).status_code == 422
        assert (await guesser.sign_in(team.member.email)).status_code == 429

        # The worker is back by itself and sends the e-mail that the outage's change queued.
        await mail_to(smtp, team.lead.email, "Book the paediatric review", within=10)
        print(f"\nValkey back -> the outage's e-mail delivered in {time.monotonic() - back:.2f} s")
        assert worker.alive
        assert web.alive
        for caller in (chair, guesser, lead):
            assert caller.errors() == [], caller.errors()
            await caller.aclose()
        assert await asyncio.to_thread(worker.stop) == 0
    assert "Traceback" not in worker.output(), worker.output()


async def test_roundtable_run_outlives_valkey_and_its_worker_carries_on(
    servers: FaultServers, team: Team, smtp: SmtpSink
) -> None:
    async with servers.roundtable("run", ROUNDTABLE_SMTP_URL=smtp.url) as run:
        await run.ready()
        chair = Caller(run.url)
        assert (await chair.sign_in(team.chair.email)).status_code == 200
        action = await create_action(chair, team, "Share the school report")

        servers.kill_valkey()
        await hand_to_lead(chair, team, action)
        await run.logged("lost Redis", within=5)
        assert (await chair.call("GET", f"/actions/{action}")).status_code == 200

        servers.start_valkey()
        mail = await mail_to(smtp, team.lead.email, "Share the school report", within=10)
        assert mail.rcpt_tos == (team.lead.email,)
        assert run.alive
        assert chair.errors() == [], chair.errors()
        await chair.aclose()


# --- PostgreSQL -------------------------------------------------------------------------------


async def socket_close_code(url: str, caller: Caller, meeting_id: object) -> int:
    cookie = "; ".join(f"{k}={v}" for k, v in caller.http.cookies.items())
    address = url.replace("http://", "ws://") + f"/ws/meetings/{meeting_id}?format=json"
    async with websockets.connect(address, additional_headers={"Cookie": cookie}, origin=url) as socket:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 5)
        assert socket.close_code is not None
        return socket.close_code


async def test_postgres_restarted_calls_answer_503_quickly_then_succeed_and_the_workers_carry_on(
    servers: FaultServers, team: Team, smtp: SmtpSink
) -> None:
    meeting = f"/api/meetings/{team.meeting.id}"
    no_cache = {"ROUNDTABLE_SESSION_CACHE_SECONDS": "0"}  # every call asks PostgreSQL who it is
    async with (
        servers.roundtable("run", ROUNDTABLE_SMTP_URL=smtp.url, **no_cache) as run,
        servers.roundtable("worker", ROUNDTABLE_SMTP_URL=smtp.url) as worker,
    ):
        await asyncio.gather(run.ready(), worker.ready())
        chair, member, lead = Caller(run.url), Caller(run.url), Caller(run.url)
        assert (await chair.sign_in(team.chair.email)).status_code == 200
        assert (await member.sign_in(team.member.email)).status_code == 200
        assert (await lead.call("GET", "/sign-in")).status_code == 200
        if (await chair.call("GET", meeting)).json()["status"] != "live":
            assert (await chair.call("POST", f"{meeting}/start")).status_code == 200
        assert (await member.call("POST", f"{meeting}/join")).status_code == 200
        action = await create_action(chair, team, "Arrange the speech and language referral")

        servers.stop_postgres_fast()

        api = [
            (chair, "POST", f"{meeting}/agenda", {"title": "Lost to the outage"}),
            (chair, "GET", meeting, None),
            (chair, "GET", "/api/cases", None),
            (chair, "GET", "/api/me", None),
            (member, "POST", f"{meeting}/hands", {"kind": "contribution"}),
            (lead, "POST", "/api/session", {"email": team.lead.email, "password": "whatever it is"}),
        ]
        for caller, method, path, body in api:
            answer = await caller.call(method, path, json=body)
            assert answer.status_code == 503, (method, path, answer.text)
            assert answer.json() == {
                "status_code": 503,
                "detail": answer.json()["detail"],
                "code": "database_unavailable",
            }
            assert "cannot reach its database" in answer.json()["detail"]
            assert int(answer.headers["retry-after"]) > 0
            assert caller.answers[-1].seconds < A_FEW_SECONDS, caller.answers[-1]
        # Tries to sign in that the outage left unanswered are not held against anyone.
        for _ in range(5):
            assert (await lead.sign_in(team.lead.email)).status_code == 503
        for page in ("/", f"/meetings/{team.meeting.id}", f"/meetings/{team.meeting.id}/room", "/actions"):
            answer = await chair.call("GET", page)
            assert answer.status_code == 503, page
            assert "text/html" in answer.headers["content-type"]
            assert "Back in a moment" in answer.text
            assert "cannot reach its database" in answer.text
            assert int(answer.headers["retry-after"]) > 0
        assert await socket_close_code(run.url, member, team.meeting.id) == 1013

        # A worker's job meets the outage (the outbox runs every 5 s), and the workers live on.
        deadline = time.monotonic() + 7
        while "database is out of reach" not in worker.output() + run.output():
            assert time.monotonic() < deadline, worker.output()[-3000:]
            await asyncio.sleep(0.1)
        assert worker.alive
        assert run.alive

        servers.start_postgres()

        # The first calls afterwards succeed; nothing was restarted.
        first = await chair.call("POST", f"{meeting}/agenda", json={"title": "After the restart"})
        assert first.status_code == 201, first.text
        assert (await chair.call("GET", meeting)).status_code == 200
        hand = await member.call("POST", f"{meeting}/hands", json={"kind": "contribution"})
        assert hand.status_code == 201, hand.text
        assert (await lead.sign_in(team.lead.email)).status_code == 200

        await hand_to_lead(chair, team, action)
        await mail_to(smtp, team.lead.email, "Arrange the speech and language referral", within=7)
        assert worker.alive
        assert run.alive
        for caller in (chair, member, lead):
            assert caller.errors() == [], caller.errors()
            await caller.aclose()
    assert "Traceback" not in worker.output(), worker.output()
