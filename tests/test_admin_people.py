"""Administrators managing a person: deactivating them ends every session and closes their open
sockets at once, and they cannot sign in (nor use an API token) until reactivated; resetting their
sign-in does the same to their password and e-mails a single-use link to choose a new one;
correcting their details lists every problem at once beside its field."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets
from litestar import Litestar
from sqlalchemy import select

from server.notify.models import OutboxMessage
from server.notify.outbox import readable_text
from server.platform.runtime import Runtime
from tests.html_forms import Document, post_form
from tests.live_support import Participant
from tests.support import PASSWORD, Team, csrf, sign_in


async def closed_within(socket: websockets.ClientConnection, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while True:
                await socket.recv()
    except websockets.ConnectionClosed:
        return True
    except TimeoutError:
        return False


async def test_deactivating_signs_a_person_out_everywhere_at_once(live_url: str, team: Team) -> None:
    admin = await Participant(live_url, team.admin).sign_in()
    member = await Participant(live_url, team.member).sign_in()
    token = (await member.post("/api/tokens", {"name": "case system"})).json()["token"]
    room = await member.socket(team.meeting.id)
    await room.next()  # the whole state
    inbox = await websockets.connect(
        live_url.replace("http://", "ws://") + "/ws/me",
        additional_headers={"Cookie": member.cookie_header()},
        origin="http://testserver.local",
    )
    await inbox.recv()  # hello

    done = await admin.http.post(
        f"/admin/people/{team.member.id}/deactivate", data={"_csrf_token": admin.csrf["x-csrftoken"]}
    )
    assert done.status_code == 303
    assert await closed_within(room.connection, 5), "the meeting socket stayed open"
    assert await closed_within(inbox, 5), "the personal socket stayed open"
    assert (await member.http.get("/api/me")).status_code == 401
    bearer = await member.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401
    again = await member.http.post(
        "/api/session", json={"email": team.member.email, "password": PASSWORD}, headers=member.csrf
    )
    wrong = await member.http.post(
        "/api/session", json={"email": team.member.email, "password": "not the password at all"}, headers=member.csrf
    )
    assert again.status_code == 422
    assert again.json() == wrong.json()  # the same answer as a wrong password: nothing is given away
    page = (await admin.http.get(f"/admin/people/{team.member.id}")).text
    assert "Deactivated: cannot sign in" in page

    back = await admin.http.patch(f"/api/users/{team.member.id}", json={"is_active": True}, headers=admin.csrf)
    assert back.status_code == 200
    assert back.json()["is_active"] is True
    assert (
        await member.http.post(
            "/api/session", json={"email": team.member.email, "password": PASSWORD}, headers=member.csrf
        )
    ).status_code == 200
    for person in (admin, member):
        await person.close()


async def test_an_administrator_cannot_deactivate_themselves(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    refused = await client.patch(f"/api/users/{team.admin.id}", json={"is_active": False}, headers=csrf(client))
    assert refused.status_code == 409
    assert (await client.get("/api/me")).status_code == 200


async def test_resetting_ends_the_password_and_e_mails_a_link(
    app: Litestar, runtime: Runtime, team: Team, client: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as member:
        await sign_in(member, team.member)
        await sign_in(client, team.admin)
        reset = await post_form(client, f"/admin/people/{team.member.id}/reset", {})
        assert reset.status_code == 303
        assert (await member.get("/api/me")).status_code == 401
        async with runtime.sessionmaker() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.recipients == team.member.email))
        assert row is not None
        assert row.subject == "Choose a new password for Roundtable"
        link = next(line for line in readable_text(row.message).splitlines() if "/invitations/" in line)
        path = link.strip().removeprefix("http://testserver.local")
        with pytest.raises(AssertionError):
            await sign_in(member, team.member)  # the old password no longer works
        chosen = await post_form(
            member, path, {"password": "a new and private passphrase", "confirm": "a new and private passphrase"}
        )
        assert chosen.status_code == 303
        assert (await member.get("/api/me")).status_code == 200


async def test_correcting_a_person_lists_every_problem_beside_its_field(client: httpx.AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    path = f"/admin/people/{team.member.id}"
    typed = {"name": "", "email": "not an address", "agency_id": str(team.member.agency_id)}
    response = await post_form(client, path, typed)
    assert response.status_code == 422
    page = Document(response.text)
    assert page.error_beside("name") == "Enter the person's name."
    assert page.error_beside("email") == "Enter an e-mail address like name@example.org."
    assert page.value_of("email") == "not an address"
    taken = await post_form(client, path, {**typed, "name": "Mo Member", "email": team.lead.email})
    assert Document(taken.text).error_beside("email") == "Someone else has an account with that e-mail address."
    saved = await post_form(
        client, path, {"name": "Morgan Member", "email": "morgan@test.example", "agency_id": str(team.lead.agency_id)}
    )
    assert saved.status_code == 303
    person = (await client.get("/api/users")).json()
    changed = next(p for p in person if p["id"] == str(team.member.id))
    assert (changed["name"], changed["email"], changed["agency_id"]) == (
        "Morgan Member",
        "morgan@test.example",
        str(team.lead.agency_id),
    )
