"""The audit trail: each kind of view and change writes exactly one row saying who, what, which
case and from where; no row holds a password or a token; the application's own database
connection cannot change or delete a row; only the case's chair and administrators read the
trail, with working filters, and its CSV cannot smuggle formulas into a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from websockets.exceptions import ConnectionClosed

from server.audit.models import AuditEvent
from server.config import Settings
from server.exports import FORMULA_STARTS
from server.notify.models import OutboxMessage
from server.platform.runtime import Runtime
from server.timeutil import today_local
from server.web.security import SESSION_COOKIE
from tests.live_support import Participant
from tests.support import PASSWORD, Team, csrf, sign_in
from tests.test_authz_matrix import World, Worlds

IP = "203.0.113.7"  # the address of the in-process `client`


async def last_id(runtime: Runtime) -> int:
    async with runtime.engine.connect() as connection:
        return int((await connection.execute(text("SELECT coalesce(max(id), 0) FROM audit_events"))).scalar_one())


async def rows_after(runtime: Runtime, before: int) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as connection:
        result = await connection.execute(
            text("SELECT * FROM audit_events WHERE id > :before ORDER BY id"), {"before": before}
        )
        return [dict(row) for row in result.mappings()]


async def only_row(runtime: Runtime, before: int) -> dict[str, Any]:
    rows = await rows_after(runtime, before)
    assert len(rows) == 1, f"expected exactly one audit row, got {[(r['verb'], r['detail']) for r in rows]}"
    return rows[0]


@pytest.fixture
async def world(runtime: Runtime, settings: Settings, team: Team) -> World:
    """A case with a scheduled, a live (item open, lead speaking, member's hand up, a decision
    and the member's action) and an ended meeting whose minutes are issued."""
    return await Worlds(runtime, settings, team).build(whole=True)


# --- views: one row each --------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    verb: str  # or several acceptable verbs, separated by "|"
    role: str
    url: Callable[[World], str]
    meeting: str | None = None  # which meeting the row names, if any


VIEWS = {
    "case (API)": View("case.view", "member", lambda w: f"/api/cases/{w.case_id}"),
    "case (page)": View("case.view", "family", lambda w: f"/cases/{w.case_id}"),
    "case record (admin)": View("case.view", "admin", lambda w: f"/api/cases/{w.case_id}"),
    "meeting (API)": View("meeting.view", "member", lambda w: f"/api/meetings/{w.meetings['live']}", "live"),
    "meeting (page)": View("meeting.view", "lead", lambda w: f"/meetings/{w.meetings['live']}", "live"),
    "meeting room (page)": View("meeting.view", "family", lambda w: f"/meetings/{w.meetings['live']}/room", "live"),
    # the case's meetings, their titles and times: a view of the case like its page, which lists them
    "case meetings (API)": View("case.view|meeting.list", "member", lambda w: f"/api/cases/{w.case_id}/meetings"),
    "action plan (API)": View("action_plan.view", "member", lambda w: f"/api/cases/{w.case_id}/actions"),
    "action plan (page)": View("action_plan.view", "chair", lambda w: f"/cases/{w.case_id}/actions"),
    "action plan (CSV)": View("action_plan.export", "lead", lambda w: f"/cases/{w.case_id}/actions.csv"),
    "minutes (page)": View("minutes.view", "family", lambda w: f"/meetings/{w.meetings['ended']}/minutes", "ended"),
    "minutes (API)": View("minutes.view", "member", lambda w: f"/api/meetings/{w.meetings['ended']}/minutes", "ended"),
    "minutes (PDF)": View(
        "minutes.export", "member", lambda w: f"/meetings/{w.meetings['ended']}/minutes.pdf", "ended"
    ),
    "action (API)": View("action.view", "member", lambda w: f"/api/actions/{w.action_id}"),
    "action (page)": View("action.view", "chair", lambda w: f"/actions/{w.action_id}"),
    "audit trail (API)": View("audit.view", "chair", lambda w: f"/api/cases/{w.case_id}/audit"),
    "audit trail (page)": View("audit.view", "admin", lambda w: f"/cases/{w.case_id}/audit"),
    "audit trail (CSV)": View("audit.export", "chair", lambda w: f"/cases/{w.case_id}/audit.csv"),
}


@pytest.mark.parametrize("name", VIEWS)
async def test_each_view_writes_one_row(
    name: str, client: httpx.AsyncClient, runtime: Runtime, team: Team, world: World
) -> None:
    view = VIEWS[name]
    person = team.roles[view.role]
    await sign_in(client, person)
    before = await last_id(runtime)
    answer = await client.get(view.url(world))
    assert answer.status_code == 200, answer.text[:300]
    row = await only_row(runtime, before)
    assert row["verb"] in view.verb.split("|")
    assert row["actor_id"] == person.id
    assert row["case_id"] == world.case_id
    assert row["ip"] == IP
    if view.meeting:
        assert row["meeting_id"] == world.meetings[view.meeting]
    # every look is a view: reading it again writes a second row
    before = await last_id(runtime)
    assert (await client.get(view.url(world))).status_code == 200
    assert [r["verb"] for r in await rows_after(runtime, before)] == [row["verb"]]


# --- changes: one row each ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    verb: str
    role: str
    call: Callable[[httpx.AsyncClient, World, Team], Awaitable[httpx.Response]]
    # where the row must point: the world's case unless the answer names a new one
    new_case: bool = False
    meeting: str | None = None


def post(url: str, body: dict[str, Any] | None = None) -> Callable[..., Awaitable[httpx.Response]]:
    def call(client: httpx.AsyncClient, w: World, t: Team) -> Awaitable[httpx.Response]:
        return client.post(url.format(w=w, t=t), json=body_for(body, w, t), headers=csrf(client))

    return call


def body_for(body: dict[str, Any] | None, w: World, t: Team) -> dict[str, Any]:
    return {k: v.format(w=w, t=t) if isinstance(v, str) else v for k, v in (body or {}).items()}


CHANGES = {
    "case.create": Change(
        "case.create",
        "member",
        post("/api/cases", {"reference": "NEW-1", "display_name": "New child", "lead_professional_id": "{t.lead.id}"}),
        new_case=True,
    ),
    "case.member.add": Change(
        "case.member.add",
        "chair",
        post("/api/cases/{w.case_id}/members", {"user_id": "{t.outsider.id}", "role": "professional"}),
    ),
    "case.member.remove": Change(
        "case.member.remove",
        "admin",
        lambda c, w, t: c.delete(f"/api/cases/{w.case_id}/members/{t.member.id}", headers=csrf(c)),
    ),
    "meeting.schedule": Change(
        "meeting.schedule",
        "chair",
        post(
            "/api/cases/{w.case_id}/meetings",
            {
                "title": "Review",
                "kind": "review_conference",
                "scheduled_at": "2031-03-04T10:00:00+00:00",
                "chair_id": "{t.chair.id}",
            },
        ),
    ),
    "agenda.add": Change(
        "agenda.add", "chair", post("/api/meetings/{w.meetings[live]}/agenda", {"title": "Health"}), meeting="live"
    ),
    "meeting.start": Change(
        "meeting.start", "chair", post("/api/meetings/{w.meetings[scheduled]}/start"), meeting="scheduled"
    ),
    "hand.raise": Change(
        "hand.raise", "family", post("/api/meetings/{w.meetings[live]}/hands", {"kind": "contribution"}), meeting="live"
    ),
    "floor.give": Change("floor.give", "chair", post("/api/meetings/{w.meetings[live]}/floor/next"), meeting="live"),
    "decision.record": Change(
        "decision.record",
        "chair",
        post(
            "/api/meetings/{w.meetings[live]}/decisions",
            {"agenda_item_id": "{w.item_id}", "text": "Refer to the nurse", "outcome": "agreed"},
        ),
        meeting="live",
    ),
    "action.assign": Change(
        "action.assign",
        "chair",
        lambda c, w, t: c.post(
            f"/api/meetings/{w.meetings['live']}/actions",
            json={
                "title": "Book the appointment",
                "owner_id": str(t.lead.id),
                "due_date": (today_local() + timedelta(days=7)).isoformat(),
                "outcome_area": "being_healthy",
            },
            headers=csrf(c),
        ),
        meeting="live",
    ),
    "action.change": Change(
        "action.change",
        "member",
        lambda c, w, t: c.patch(f"/api/actions/{w.action_id}", json={"progress_note": "Called"}, headers=csrf(c)),
    ),
    "invitation.send": Change(
        "invitation.send",
        "chair",
        post("/api/cases/{w.case_id}/invitations", {"email": "gran@test.example", "name": "Gran Smith"}),
    ),
}


@pytest.mark.parametrize("name", CHANGES)
async def test_each_change_writes_one_row(
    name: str, client: httpx.AsyncClient, runtime: Runtime, team: Team, world: World
) -> None:
    change = CHANGES[name]
    person = team.roles[change.role]
    await sign_in(client, person)
    before = await last_id(runtime)
    answer = await change.call(client, world, team)
    assert 200 <= answer.status_code < 300, answer.text[:300]
    row = await only_row(runtime, before)
    assert row["verb"] == change.verb
    assert row["actor_id"] == person.id
    assert row["ip"] == IP
    assert row["case_id"] == (uuid.UUID(answer.json()["id"]) if change.new_case else world.case_id)
    if change.meeting:
        assert row["meeting_id"] == world.meetings[change.meeting]
    if change.verb == "meeting.schedule":
        assert row["meeting_id"] == uuid.UUID(answer.json()["id"])


# --- signing in and out, sockets -------------------------------------------------------------


async def test_sign_in_failed_sign_in_and_sign_out_write_one_row_each(
    client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    await client.get("/sign-in")
    before = await last_id(runtime)
    wrong = await client.post(
        "/api/session", json={"email": team.member.email, "password": "not it at all"}, headers=csrf(client)
    )
    assert wrong.status_code == 422
    row = await only_row(runtime, before)
    assert (row["verb"], row["actor_id"], row["case_id"], row["ip"]) == ("signin.failed", team.member.id, None, IP)

    before = await last_id(runtime)
    unknown = await client.post(
        "/api/session", json={"email": "Nobody@Test.example", "password": "not it at all"}, headers=csrf(client)
    )
    assert unknown.status_code == 422
    row = await only_row(runtime, before)
    assert (row["verb"], row["actor_id"], row["ip"]) == ("signin.failed", None, IP)
    assert row["detail"]["email"] == "nobody@test.example"

    before = await last_id(runtime)
    page_wrong = await client.post(
        "/sign-in", data={"email": team.chair.email, "password": "nope", "_csrf_token": client.cookies["csrftoken"]}
    )
    assert page_wrong.status_code == 400
    assert (await only_row(runtime, before))["verb"] == "signin.failed"

    before = await last_id(runtime)
    await sign_in(client, team.member)
    row = await only_row(runtime, before)
    assert (row["verb"], row["actor_id"], row["case_id"], row["ip"]) == ("signin", team.member.id, None, IP)

    before = await last_id(runtime)
    out = await client.delete("/api/session", headers=csrf(client))
    assert out.status_code == 200
    row = await only_row(runtime, before)
    assert (row["verb"], row["actor_id"], row["ip"]) == ("signout", team.member.id, IP)

    await sign_in(client, team.chair)
    before = await last_id(runtime)
    assert (await client.post("/sign-out", headers=csrf(client))).status_code == 303
    row = await only_row(runtime, before)
    assert (row["verb"], row["actor_id"]) == ("signout", team.chair.id)


async def test_each_socket_connection_writes_one_row(live_url: str, runtime: Runtime, team: Team) -> None:
    member = await Participant(live_url, team.member).sign_in()
    before = await last_id(runtime)
    socket = await member.socket(team.meeting.id)
    assert (await socket.next())["type"] == "state"
    row = await only_row(runtime, before)
    assert row["verb"] == "socket.connect"
    assert row["actor_id"] == team.member.id
    assert row["case_id"] == team.case.id
    assert row["meeting_id"] == team.meeting.id
    assert row["ip"] == "127.0.0.1"  # the real address of the TCP connection
    # a refused socket is not a connection to anything
    outsider = await Participant(live_url, team.outsider).sign_in()
    before = await last_id(runtime)
    refused = await outsider.socket(team.meeting.id)
    with pytest.raises(ConnectionClosed) as closed:
        await refused.next(timeout=3)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404
    assert await rows_after(runtime, before) == []
    await socket.close()
    await member.close()
    await outsider.close()


# --- no secrets in the trail ------------------------------------------------------------------


async def test_no_row_holds_a_password_or_a_token(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, team: Team
) -> None:
    secrets = {"signed-in password": PASSWORD}
    secrets["wrong password"] = "Wrong-Horse-Secret-42"
    await client.get("/sign-in")
    await client.post(
        "/api/session", json={"email": team.admin.email, "password": secrets["wrong password"]}, headers=csrf(client)
    )
    await sign_in(client, team.admin)
    secrets["admin session cookie"] = client.cookies[SESSION_COOKIE]
    secrets["new user's password"] = "New-User-Secret-Pass-7"
    made = await client.post(
        "/api/users",
        json={
            "email": "nina@test.example",
            "name": "Nina New",
            "agency_id": str(team.member.agency_id),
            "password": secrets["new user's password"],
        },
        headers=csrf(client),
    )
    assert made.status_code == 201, made.text
    token = await client.post("/api/tokens", json={"name": "integration"}, headers=csrf(client))
    secrets["API token"] = token.json()["token"]
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {secrets['API token']}"})).status_code == 200
    secrets["changed password"] = "Changed-Secret-Pass-9"
    changed = await client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": secrets["changed password"]},
        headers=csrf(client),
    )
    assert changed.status_code == 200, changed.text

    chair = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(IP, 1)), base_url="http://testserver.local"
    )
    await sign_in(chair, team.chair)
    invited = await chair.post(
        f"/api/cases/{team.case.id}/invitations",
        json={"email": "carer@test.example", "name": "Casey Carer"},
        headers=csrf(chair),
    )
    assert invited.status_code == 201, invited.text
    await chair.aclose()
    async with runtime.sessionmaker() as session:
        message = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.recipients == "carer@test.example"))
        ).one()
    body = message_from_bytes(message.message, policy=policy.default).get_body().get_content()  # type: ignore[union-attr]
    link = re.search(r"http://testserver\.local(/invitations/(\S+))", body)
    assert link
    secrets["invitation token"] = link.group(2)
    secrets["family password"] = "Family-Secret-Pass-3"
    family = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(IP, 2)), base_url="http://testserver.local"
    )
    await family.get("/sign-in")
    form = {"password": secrets["family password"], "confirm": secrets["family password"]}
    accepted = await family.post(link.group(1), data={**form, "_csrf_token": family.cookies["csrftoken"]})
    assert accepted.status_code == 303
    await family.aclose()

    async with runtime.engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT verb, object_id, detail::text AS detail FROM audit_events"))
        ).all()
    verbs = {row.verb for row in rows}
    assert {"signin", "signin.failed", "user.create", "token.create", "password.change"} <= verbs
    assert {"invitation.send", "invitation.accept"} <= verbs
    dump = json.dumps([list(row) for row in rows])
    for what, secret in secrets.items():
        assert secret not in dump, f"the audit trail holds the {what}"
    # nor hashes of them (the session and token hashes are secrets' stand-ins in the database)
    async with runtime.engine.connect() as connection:
        hashes = (
            (
                await connection.execute(
                    text("SELECT token_hash FROM user_sessions UNION SELECT token_hash FROM api_tokens")
                )
            )
            .scalars()
            .all()
        )
    assert not any(h in dump for h in hashes)


# --- append-only ------------------------------------------------------------------------------


async def test_the_applications_own_connection_cannot_change_or_delete_a_row(
    client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    await sign_in(client, team.chair)
    assert (await client.get(f"/api/cases/{team.case.id}")).status_code == 200
    before = await rows_after(runtime, 0)
    assert before
    target = before[-1]["id"]
    statements = [
        update(AuditEvent).where(AuditEvent.id == target).values(verb="forged"),
        update(AuditEvent).values(ip="10.0.0.1"),
        update(AuditEvent).where(AuditEvent.id == target).values(actor_id=None, detail={}),
        delete(AuditEvent).where(AuditEvent.id == target),
        delete(AuditEvent),
    ]
    for statement in statements:
        async with runtime.sessionmaker() as session:  # the application's engine and role
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
    async with runtime.sessionmaker() as session:
        row = await session.get(AuditEvent, target)
        assert row is not None
        await session.delete(row)
        with pytest.raises(DBAPIError, match="append-only"):
            await session.commit()
    assert await rows_after(runtime, 0) == before
    # adding stays possible: the trail goes on
    assert (await client.get(f"/api/cases/{team.case.id}")).status_code == 200
    assert len(await rows_after(runtime, 0)) == len(before) + 1


# --- reading the trail ------------------------------------------------------------------------


async def test_only_the_cases_chair_and_administrators_read_the_trail(
    app: Litestar, runtime: Runtime, team: Team
) -> None:
    expected = {"chair": 200, "admin": 200, "member": 403, "lead": 403, "family": 403, "outsider": 404}
    urls = [f"/api/cases/{team.case.id}/audit", f"/cases/{team.case.id}/audit", f"/cases/{team.case.id}/audit.csv"]
    for role, status in expected.items():
        browser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(IP, 3)), base_url="http://testserver.local"
        )
        await sign_in(browser, team.roles[role])
        for url in urls:
            before = await last_id(runtime)
            answer = await browser.get(url)
            assert answer.status_code == status, (role, url, answer.status_code)
            wrote = [r["verb"] for r in await rows_after(runtime, before)]
            assert wrote == ([("audit.export" if url.endswith(".csv") else "audit.view")] if status == 200 else [])
        await browser.aclose()
    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(IP, 4)), base_url="http://testserver.local"
    )
    assert (await anonymous.get(urls[0])).status_code == 401
    assert (await anonymous.get(urls[1])).headers["location"].startswith("/sign-in?next=")
    await anonymous.aclose()


async def test_the_trail_filters_by_verb_person_and_dates(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, team: Team
) -> None:
    member = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(IP, 5)), base_url="http://testserver.local"
    )
    await sign_in(member, team.member)
    assert (await member.get(f"/api/cases/{team.case.id}")).status_code == 200
    assert (await member.get(f"/api/cases/{team.case.id}/actions")).status_code == 200
    await member.aclose()
    await sign_in(client, team.chair)
    assert (await client.get(f"/cases/{team.case.id}")).status_code == 200
    trail = f"/api/cases/{team.case.id}/audit"

    everything = (await client.get(trail)).json()
    assert [r["id"] for r in everything] == sorted((r["id"] for r in everything), reverse=True), "newest first"
    assert {"case.create", "case.view", "action_plan.view", "meeting.schedule"} <= {r["verb"] for r in everything}

    views = (await client.get(trail, params={"verb": "case.view"})).json()
    assert views
    assert {r["verb"] for r in views} == {"case.view"}
    assert {r["actor_id"] for r in views} == {str(team.member.id), str(team.chair.id)}
    # the verb is matched as typed, as a prefix: no wildcards
    assert (await client.get(trail, params={"verb": "%"})).json() == []
    assert (await client.get(trail, params={"verb": "case_view"})).json() == []
    family_of_verbs = (await client.get(trail, params={"verb": "case."})).json()
    assert {r["verb"] for r in family_of_verbs} >= {"case.view", "case.create", "case.member.add"}

    by_member = (await client.get(trail, params={"actor_id": str(team.member.id)})).json()
    assert {r["verb"] for r in by_member} == {"case.view", "action_plan.view"}
    assert {r["actor_id"] for r in by_member} == {str(team.member.id)}
    both = (await client.get(trail, params={"actor_id": str(team.member.id), "verb": "action_plan"})).json()
    assert [r["verb"] for r in both] == ["action_plan.view"]

    today = today_local()
    assert len((await client.get(trail, params={"since": str(today), "until": str(today)})).json()) >= len(everything)
    assert (await client.get(trail, params={"since": str(today + timedelta(days=1))})).json() == []
    assert (await client.get(trail, params={"until": str(today - timedelta(days=1))})).json() == []
    assert (await client.get(trail, params={"since": "not a date"})).status_code == 400

    page = await client.get(f"/cases/{team.case.id}/audit", params={"verb": "action_plan", "who": str(team.member.id)})
    assert page.status_code == 200
    assert "Read the action plan" in page.text  # in words, not event codes
    assert "action_plan.view" not in page.text
    assert "Created the case" not in page.text
    csv_rows = list(
        csv.reader(
            io.StringIO((await client.get(f"/cases/{team.case.id}/audit.csv", params={"verb": "case.view"})).text)
        )
    )
    assert csv_rows[0][:3] == ["when", "who", "what"]
    assert {row[2] for row in csv_rows[1:]} == {"case.view"}
    assert {row[1] for row in csv_rows[1:]} == {team.member.name, team.chair.name}
    assert {row[6] for row in csv_rows[1:]} == {IP}


async def test_the_trails_csv_neutralises_formula_cells(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, team: Team
) -> None:
    """A person's name is chosen by whoever makes the account; in a spreadsheet a name like
    =HYPERLINK(...) must stay text."""
    await sign_in(client, team.admin)
    names = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1,2)"]
    for n, name in enumerate(names):
        made = await client.post(
            "/api/users",
            json={
                "email": f"formula{n}@test.example",
                "name": name,
                "agency_id": str(team.member.agency_id),
                "password": "a long enough passphrase",
            },
            headers=csrf(client),
        )
        assert made.status_code == 201, made.text
        added = await client.post(
            f"/api/cases/{team.case.id}/members",
            json={"user_id": made.json()["id"], "role": "professional"},
            headers=csrf(client),
        )
        assert added.status_code == 201, added.text
        browser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(IP, 6)), base_url="http://testserver.local"
        )
        await sign_in(browser, f"formula{n}@test.example", "a long enough passphrase")
        assert (await browser.get(f"/api/cases/{team.case.id}")).status_code == 200
        await browser.aclose()
    download = await client.get(f"/cases/{team.case.id}/audit.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text)))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)], "a cell a spreadsheet would run"
    who = {row[1] for row in rows[1:]}
    for name in names:
        assert "'" + name in who
