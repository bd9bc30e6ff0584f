"""Signing in: attempt limits, answers that do not tell whether an account exists, password
rules, session expiry (idle and absolute), sockets closed when their session ends, and the
session cookie rotated at every sign-in."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from litestar import Litestar
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed

from server.config import Settings
from server.people import passwords
from server.people.ratelimit import PER_ACCOUNT, PER_ADDRESS
from server.people.tokens import digest
from server.platform.runtime import Runtime
from server.web.security import SESSION_COOKIE
from tests.live_support import Participant, Socket
from tests.support import PASSWORD, Team, csrf, sign_in

WRONG = "not the password at all"
TOO_MANY = "Too many sign-in attempts"


async def attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    if "csrftoken" not in client.cookies:
        await client.get("/sign-in")
    return await client.post("/api/session", json={"email": email, "password": password}, headers=csrf(client))


async def page_attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    if "csrftoken" not in client.cookies:
        await client.get("/sign-in")
    return await client.post(
        "/sign-in", data={"email": email, "password": password, "_csrf_token": client.cookies["csrftoken"]}
    )


def browser_at(app: Litestar, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


@pytest.fixture
async def elsewhere(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A browser at another address than the `client` fixture's 203.0.113.7."""
    async with browser_at(app, "198.51.100.23") as other:
        yield other


# --- attempt limits --------------------------------------------------------------------------


async def test_the_sixth_try_for_an_account_is_refused_even_with_the_right_password(
    client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, team: Team
) -> None:
    assert PER_ACCOUNT.attempts == 5
    assert PER_ACCOUNT.window_seconds == 15 * 60
    for _ in range(5):
        refused = await attempt(client, team.member.email, WRONG)
        assert refused.status_code == 422, refused.text
    blocked = await attempt(client, team.member.email, PASSWORD)
    assert blocked.status_code == 429, blocked.text
    assert blocked.json() == {"status_code": 429, "detail": blocked.json()["detail"], "code": "too_many_attempts"}
    assert TOO_MANY in blocked.json()["detail"]
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    assert SESSION_COOKIE not in blocked.cookies
    # the limit is the account's, from any address; the e-mail's case and spaces do not matter
    assert (await attempt(elsewhere, team.member.email, PASSWORD)).status_code == 429
    assert (await attempt(elsewhere, f"  {team.member.email.upper()} ", PASSWORD)).status_code == 429
    # other accounts are not affected
    assert (await attempt(client, team.chair.email, PASSWORD)).status_code == 200


async def test_the_sign_in_page_says_clearly_that_there_were_too_many_tries(
    client: httpx.AsyncClient, team: Team
) -> None:
    for _ in range(5):
        wrong = await page_attempt(client, team.family.email, WRONG)
        assert wrong.status_code == 400
        assert "The e-mail address or password is not right." in wrong.text
    blocked = await page_attempt(client, team.family.email, PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("text/html")
    assert TOO_MANY in blocked.text
    assert "Wait a few minutes and try again." in blocked.text
    assert SESSION_COOKIE not in blocked.cookies
    # the API refuses the same account too: one counter, whichever door is used
    assert (await attempt(client, team.family.email, PASSWORD)).status_code == 429


async def test_thirty_failures_from_one_address_block_that_address(
    client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, team: Team
) -> None:
    assert PER_ADDRESS.attempts == 30
    for n in range(30):  # a different e-mail each time: no account limit is reached
        refused = await attempt(client, f"guess-{n}@test.example", WRONG)
        assert refused.status_code == 422, (n, refused.text)
    blocked = await attempt(client, team.member.email, PASSWORD)
    assert blocked.status_code == 429, blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    assert (await page_attempt(client, team.chair.email, PASSWORD)).status_code == 429
    # another address is not blocked, and the accounts themselves are not locked
    assert (await attempt(elsewhere, team.member.email, PASSWORD)).status_code == 200


async def test_a_successful_sign_in_clears_the_accounts_failures(client: httpx.AsyncClient, team: Team) -> None:
    for _ in range(4):
        assert (await attempt(client, team.lead.email, WRONG)).status_code == 422
    assert (await attempt(client, team.lead.email, PASSWORD)).status_code == 200
    # four more failures are allowed again (a counter that was not cleared would stop at one)
    for n in range(4):
        assert (await attempt(client, team.lead.email, WRONG)).status_code == 422, n
    assert (await attempt(client, team.lead.email, PASSWORD)).status_code == 200


# --- an unknown e-mail and a wrong password look the same --------------------------------------


async def test_unknown_email_and_wrong_password_get_the_same_answer(client: httpx.AsyncClient, team: Team) -> None:
    unknown = await attempt(client, "nobody-here@test.example", WRONG)
    known = await attempt(client, team.member.email, WRONG)
    assert (unknown.status_code, unknown.content) == (known.status_code, known.content)
    assert unknown.json() == {
        "status_code": 422,
        "detail": "The e-mail address or password is not right.",
        "code": "wrong_credentials",
    }
    assert set(unknown.headers) == set(known.headers)

    page_unknown = await page_attempt(client, "nobody-here@test.example", WRONG)
    page_known = await page_attempt(client, team.member.email, WRONG)
    assert page_unknown.status_code == page_known.status_code == 400
    # the page keeps what was typed in the e-mail field; apart from that it is the same page
    assert page_unknown.text.replace("nobody-here@test.example", "E") == page_known.text.replace(team.member.email, "E")


async def test_unknown_email_and_wrong_password_cost_the_same_work(
    app: Litestar, team: Team, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite's cheap argon2 parameters would make a known account's hash faster to check than
    the dummy hash (made at import with the real ones), so this test uses the real parameters
    for an account made here: then both paths must do one real argon2 verification."""
    real = PasswordHasher()
    monkeypatch.setattr(passwords, "_HASHER", real)
    async with browser_at(app, "203.0.113.7") as admin:
        await sign_in(admin, team.admin)
        made = await admin.post(
            "/api/users",
            json={"email": "timed@test.example", "name": "Tim Timed", "agency_id": str(team.member.agency_id)}
            | {"password": PASSWORD},
            headers=csrf(admin),
        )
        assert made.status_code == 201, made.text
    one_verify = min(_timed(lambda: real.verify(passwords._DUMMY_HASH, WRONG)) for _ in range(3))
    assert one_verify > 0.005, "the dummy hash carries real argon2 parameters"

    timings: dict[str, list[float]] = {"unknown": [], "known": []}
    async with browser_at(app, "203.0.113.7") as browser:
        for _ in range(5):
            for kind, email in (("unknown", "nobody-timed@test.example"), ("known", "timed@test.example")):
                await runtime.redis.flushdb()  # the limits are not what is measured here
                started = time.perf_counter()
                answer = await attempt(browser, email, WRONG)
                timings[kind].append(time.perf_counter() - started)
                assert answer.status_code == 422
    unknown, known = statistics.median(timings["unknown"]), statistics.median(timings["known"])
    assert unknown >= 0.6 * one_verify, f"an unknown e-mail is answered without argon2 work: {timings}"
    assert known >= 0.6 * one_verify, timings
    assert abs(unknown - known) <= 0.5 * max(unknown, known), f"the two paths take different times: {timings}"


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(VerifyMismatchError):
        work()
    return time.perf_counter() - started


# --- password rules (NIST SP 800-63B) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass1", "Use at least 12 characters."),
        ("password1234", "too common"),
        ("Qwerty123456", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("rosa parks 1955!", "Do not use your name or e-mail address"),
        ("xx ROSA PARKS xx", "Do not use your name or e-mail address"),
        ("my rosie.p mail", "Do not use your name or e-mail address"),
        ("x" * 60 + "y" * 69, "Use at most 128 characters."),
    ],
)
async def test_weak_passwords_are_refused_when_an_account_is_made(
    client: httpx.AsyncClient, team: Team, password: str, why: str
) -> None:
    await sign_in(client, team.admin)
    answer = await client.post(
        "/api/users",
        json={
            "email": "rosie.p@test.example",
            "name": "Rosa Parks",
            "agency_id": str(team.member.agency_id),
            "password": password,
        },
        headers=csrf(client),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "password"
    assert why in answer.json()["detail"]


async def test_password_rules_apply_when_changing_it_and_composition_is_not_required(
    client: httpx.AsyncClient, team: Team
) -> None:
    await sign_in(client, team.member)
    for weak in ("eleven char", "letmein12345", "mo member's secret"):
        change = {"current_password": PASSWORD, "new_password": weak}
        refused = await client.post("/api/me/password", json=change, headers=csrf(client))
        assert refused.status_code == 422, (weak, refused.text)
        assert refused.json()["field"] == "new_password"
    # twelve lower-case letters and spaces are enough: no rules about digits or symbols
    fine = {"current_password": PASSWORD, "new_password": "plain words only"}
    assert (await client.post("/api/me/password", json=fine, headers=csrf(client))).status_code == 200
    assert (await client.get("/api/me")).status_code == 200
    client.cookies.clear()
    assert (await attempt(client, team.member.email, "plain words only")).status_code == 200


# --- session expiry ----------------------------------------------------------------------------


async def _move_session(runtime: Runtime, cookie: str, **moves: timedelta) -> None:
    assert set(moves) <= {"last_seen_at", "expires_at"}
    sets = ", ".join(f"{column} = {column} - make_interval(secs => :{column})" for column in moves)
    values = {column: delta.total_seconds() for column, delta in moves.items()}
    async with runtime.engine.begin() as connection:
        changed = await connection.execute(
            text(f"UPDATE user_sessions SET {sets} WHERE token_hash = :hash"),  # noqa: S608 (two known columns)
            {**values, "hash": digest(cookie)},
        )
        assert changed.rowcount == 1


async def test_a_session_idle_too_long_is_over(
    client: httpx.AsyncClient, team: Team, runtime: Runtime, settings: Settings
) -> None:
    await sign_in(client, team.member)
    cookie = client.cookies[SESSION_COOKIE]
    idle = timedelta(minutes=settings.session_idle_minutes)
    # used a minute inside the limit: still open, and the use counts as activity
    await _move_session(runtime, cookie, last_seen_at=idle - timedelta(minutes=1))
    assert (await client.get("/api/me")).status_code == 200
    await _move_session(runtime, cookie, last_seen_at=idle - timedelta(minutes=1))
    assert (await client.get("/api/me")).status_code == 200
    # unused for longer than the limit: over, for the API and for pages
    await _move_session(runtime, cookie, last_seen_at=idle + timedelta(minutes=1))
    gone = await client.get("/api/me")
    assert gone.status_code == 401
    assert gone.json()["status_code"] == 401
    page = await client.get(f"/cases/{team.case.id}")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in?next=")
    # and it stays over: the row is ended, not only judged idle
    await _move_session(runtime, cookie, last_seen_at=-(idle + timedelta(minutes=5)))
    assert (await client.get("/api/me")).status_code == 401


async def test_a_session_older_than_its_lifetime_is_over_however_busy(
    client: httpx.AsyncClient, team: Team, runtime: Runtime, settings: Settings
) -> None:
    await sign_in(client, team.chair)
    cookie = client.cookies[SESSION_COOKIE]
    async with runtime.engine.connect() as connection:
        lifetime = (
            await connection.execute(
                text("SELECT expires_at - created_at FROM user_sessions WHERE token_hash = :h"), {"h": digest(cookie)}
            )
        ).scalar_one()
    assert abs(lifetime - timedelta(hours=settings.session_max_hours)) < timedelta(minutes=1)
    await _move_session(runtime, cookie, expires_at=timedelta(hours=settings.session_max_hours, seconds=-30))
    assert (await client.get("/api/me")).status_code == 200  # half a minute left
    await _move_session(runtime, cookie, expires_at=timedelta(minutes=1))
    assert (await client.get("/api/me")).status_code == 401
    assert (await client.get("/")).headers["location"].startswith("/sign-in?next=")


async def test_an_ended_or_expired_session_loses_its_open_sockets_at_the_recheck(
    app: Litestar, live_url: str, team: Team, runtime: Runtime
) -> None:
    member = await Participant(live_url, team.member).sign_in()
    family = await Participant(live_url, team.family).sign_in()
    chair = await Participant(live_url, team.chair).sign_in()
    sockets = {
        "member": await member.socket(team.meeting.id),
        "family": await family.socket(team.meeting.id),
        "chair": await chair.socket(team.meeting.id),
    }
    for socket in sockets.values():
        assert (await socket.next())["type"] == "state"
    async with runtime.engine.begin() as connection:  # ended elsewhere, e.g. by another process
        await connection.execute(
            text("UPDATE user_sessions SET ended_at = now() WHERE token_hash = :h"),
            {"h": digest(member.http.cookies[SESSION_COOKIE])},
        )
    await _move_session(runtime, family.http.cookies[SESSION_COOKIE], expires_at=timedelta(hours=13))
    await app.state["live"].recheck()
    assert await closed_code(sockets["member"]) == 4401
    assert await closed_code(sockets["family"]) == 4401
    # the chair's socket is untouched
    await chair.post(f"/api/meetings/{team.meeting.id}/start")
    while (message := await sockets["chair"].next())["state"]["status"] != "live":
        pass  # presence messages from the closed sockets may come first, or be merged with this
    assert message["type"] in ("started", "change")
    for socket in sockets.values():
        await socket.close()
    for person in (member, family, chair):
        await person.close()


async def closed_code(socket: Socket, within: float = 3.0) -> int | None:
    """Read until the server closes the socket: the close code it sent."""
    try:
        async with asyncio.timeout(within):
            while True:
                await socket.connection.recv()
    except ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code
    except TimeoutError:
        return None


async def test_signing_out_closes_that_sessions_socket_at_once(live_url: str, team: Team) -> None:
    member = await Participant(live_url, team.member).sign_in()
    socket = await member.socket(team.meeting.id)
    assert (await socket.next())["type"] == "state"
    signed_out = await member.http.delete("/api/session", headers=member.csrf)
    assert signed_out.status_code == 200
    assert await closed_code(socket) == 4401
    await member.close()


# --- the session cookie rotates ----------------------------------------------------------------


async def test_every_sign_in_gets_a_new_cookie_and_signing_out_kills_the_old_one(
    client: httpx.AsyncClient, app: Litestar, team: Team, runtime: Runtime
) -> None:
    await sign_in(client, team.member)
    first = client.cookies[SESSION_COOKIE]
    await sign_in(client, team.member)  # the same browser signs in again
    second = client.cookies[SESSION_COOKIE]
    assert first != second
    set_cookie = next(
        v
        for k, v in (await _sign_in_raw(client, team)).headers.multi_items()
        if k == "set-cookie" and SESSION_COOKIE in v
    )
    assert "HttpOnly" in set_cookie
    assert "samesite=lax" in set_cookie.lower()
    assert "path=/" in set_cookie.lower()
    third = client.cookies[SESSION_COOKIE]
    assert len({first, second, third}) == 3
    # only a hash of the cookie is stored
    async with runtime.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT token_hash FROM user_sessions"))).scalars().all()
    assert not {first, second, third} & set(stored)
    assert digest(third) in stored
    # signing out ends the session in use; its cookie is dead even if replayed
    signed_out = await client.delete("/api/session", headers=csrf(client))
    assert signed_out.status_code == 200
    assert SESSION_COOKIE not in client.cookies, "the browser is told to drop the cookie"
    replay = browser_at(app, "203.0.113.7")
    replay.cookies.set(SESSION_COOKIE, third)
    assert (await replay.get("/api/me")).status_code == 401
    await replay.aclose()
    # the page's sign-out does the same
    await sign_in(client, team.member)
    fourth = client.cookies[SESSION_COOKIE]
    out = await client.post("/sign-out", headers=csrf(client))
    assert out.status_code == 303
    stale = browser_at(app, "203.0.113.7")
    stale.cookies.set(SESSION_COOKIE, fourth)
    assert (await stale.get("/api/me")).status_code == 401
    await stale.aclose()


async def test_signing_in_again_ends_the_session_the_browser_had(
    client: httpx.AsyncClient, app: Litestar, team: Team
) -> None:
    """Rotation replaces the session: the cookie a browser brings to a new sign-in (its own
    earlier one, or one planted in it) must not stay open beside the new one."""
    await sign_in(client, team.member)
    before = client.cookies[SESSION_COOKIE]
    await sign_in(client, team.chair)  # the same browser, now someone else
    assert client.cookies[SESSION_COOKIE] != before
    async with browser_at(app, "203.0.113.7") as replay:
        replay.cookies.set(SESSION_COOKIE, before)
        assert (await replay.get("/api/me")).status_code == 401, "the replaced session is still open"
    async with browser_at(app, "203.0.113.7") as form_browser:
        await sign_in(form_browser, team.member)
        planted = form_browser.cookies[SESSION_COOKIE]
        assert (await page_attempt(form_browser, team.lead.email, PASSWORD)).status_code == 303
        form_browser.cookies.clear()
        form_browser.cookies.set(SESSION_COOKIE, planted)
        assert (await form_browser.get("/api/me")).status_code == 401, "the page's sign-in keeps the old session"


async def _sign_in_raw(client: httpx.AsyncClient, team: Team) -> httpx.Response:
    answer = await attempt(client, team.member.email, PASSWORD)
    assert answer.status_code == 200
    return answer


async def test_guesses_sent_at_once_do_not_get_past_the_account_limit(client: httpx.AsyncClient, team: Team) -> None:
    """Twenty guesses at once for one account: only five are checked, however they interleave."""
    await client.get("/sign-in")
    answers = await asyncio.gather(*(attempt(client, team.admin.email, f"{WRONG} {n}") for n in range(20)))
    assert {a.status_code for a in answers} <= {422, 429}
    checked = sum(a.status_code == 422 for a in answers)
    assert checked <= PER_ACCOUNT.attempts, f"{checked} guesses at one account were checked"
    assert (await attempt(client, team.admin.email, PASSWORD)).status_code == 429


async def test_guesses_sent_at_once_do_not_get_past_the_address_limit(
    client: httpx.AsyncClient, elsewhere: httpx.AsyncClient, team: Team
) -> None:
    await client.get("/sign-in")
    answers = await asyncio.gather(*(attempt(client, f"spray-{n}@test.example", WRONG) for n in range(45)))
    assert {a.status_code for a in answers} <= {422, 429}
    checked = sum(a.status_code == 422 for a in answers)
    assert checked <= PER_ADDRESS.attempts, f"{checked} guesses from one address were checked"
    assert (await attempt(client, team.member.email, PASSWORD)).status_code == 429
    assert (await attempt(elsewhere, team.member.email, PASSWORD)).status_code == 200


async def test_successful_sign_ins_do_not_use_up_the_address(client: httpx.AsyncClient, team: Team) -> None:
    """Thirty-five people signing in from one office address are not taken for a guesser."""
    for n in range(35):
        person = (team.member, team.chair, team.lead, team.family, team.admin, team.outsider)[n % 6]
        assert (await attempt(client, person.email, PASSWORD)).status_code == 200, n
    assert (await attempt(client, "one-typo@test.example", WRONG)).status_code == 422
