"""Inviting a family member, setting a password through the link, and changing passwords."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from server.notify.models import OutboxMessage
from server.people.models import Invitation
from server.platform.runtime import Runtime
from tests.support import PASSWORD, Team, csrf, sign_in

NEW_PASSWORD = "a long new family password"


async def _invitation_link(runtime: Runtime, email: str) -> str:
    async with runtime.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.recipients == email))).all()
    body = message_from_bytes(rows[-1].message, policy=policy.default).get_body().get_content()  # type: ignore[union-attr]
    match = re.search(r"http://testserver\.local(/invitations/\S+)", body)
    assert match, body
    return match.group(1)


async def test_an_invited_parent_sets_a_password_once_and_lands_in_their_case(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await sign_in(client, team.chair)
    response = await client.post(
        f"/api/cases/{team.case.id}/invitations",
        json={"email": "Carer@Example.org", "name": "Casey Carer"},
        headers=csrf(client),
    )
    assert response.status_code == 201, response.text
    assert response.json()["user"]["agency"]["sector"] == "family"
    link = await _invitation_link(runtime, "carer@example.org")
    client.cookies.clear()

    page = await client.get(link)
    assert page.status_code == 200
    assert "Casey Carer" in page.text
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "_csrf_token": client.cookies["csrftoken"]}
    accepted = await client.post(link, data=form)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/cases/{team.case.id}"
    me = await client.get("/api/me")
    assert me.json()["email"] == "carer@example.org"
    case = await client.get(f"/api/cases/{team.case.id}")
    assert case.json()["my_role"] == "family"

    client.cookies.clear()
    await client.get("/sign-in")
    again = await client.post(link, data={**form, "_csrf_token": client.cookies["csrftoken"]})
    assert again.status_code == 404  # single use


async def test_an_expired_invitation_is_refused(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    await sign_in(client, team.chair)
    await client.post(
        f"/api/cases/{team.case.id}/invitations",
        json={"email": "late@example.org", "name": "Lee Late"},
        headers=csrf(client),
    )
    link = await _invitation_link(runtime, "late@example.org")
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(update(Invitation).values(expires_at=Invitation.expires_at - timedelta(days=8)))
    client.cookies.clear()
    assert (await client.get(link)).status_code == 404


async def test_only_chair_or_admin_may_invite(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    response = await client.post(
        f"/api/cases/{team.case.id}/invitations", json={"email": "x@example.org", "name": "X"}, headers=csrf(client)
    )
    assert response.status_code == 403


async def test_changing_a_password_ends_every_other_session(client: AsyncClient, team: Team, app: object) -> None:
    import httpx

    await sign_in(client, team.member)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://testserver.local") as other_device:
        await sign_in(other_device, team.member)
        assert (await other_device.get("/api/me")).status_code == 200
        changed = await client.post(
            "/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=csrf(client)
        )
        assert changed.status_code == 200, changed.text
        assert (await other_device.get("/api/me")).status_code == 401
    assert (await client.get("/api/me")).status_code == 200  # this browser got a fresh session
    weak = await client.post(
        "/api/me/password",
        json={"current_password": NEW_PASSWORD, "new_password": "password1234"},
        headers=csrf(client),
    )
    assert weak.status_code == 422


async def test_the_audit_trail_cannot_be_altered(runtime: Runtime, team: Team) -> None:
    async with runtime.engine.connect() as connection:
        for statement in ("UPDATE audit_events SET verb = 'forged'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text(statement))
            await connection.rollback()
