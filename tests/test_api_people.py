"""The people API as an integrator and a browser use it: signing in and out, API tokens,
agencies and users, and who may do what."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from httpx import AsyncClient
from litestar import Litestar
from sqlalchemy import select, update

from server.people.models import ApiToken, User
from server.platform.runtime import Runtime
from tests.support import PASSWORD, Team, csrf, sign_in

BASE = "http://testserver.local"
NEW_PASSWORD = "a perfectly fine passphrase"


@asynccontextmanager
async def fresh_client(app: Litestar) -> AsyncIterator[AsyncClient]:
    """A second client with an empty cookie jar, from another address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    async with AsyncClient(transport=transport, base_url=BASE) as other:
        yield other


def error_body(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body  # type: ignore[no-any-return]


def session_set_cookie(response: httpx.Response) -> str:
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith("rt_session=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


async def new_token(client: AsyncClient, name: str = "Case system") -> str:
    response = await client.post("/api/tokens", json={"name": name}, headers=csrf(client))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == name
    assert set(body) >= {"id", "name", "token", "created_at"}
    assert isinstance(body["token"], str)
    assert len(body["token"]) >= 20
    return body["token"]  # type: ignore[no-any-return]


# --- signing in and out ---------------------------------------------------------------------


async def test_sign_in_sets_http_only_lax_session_cookie(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    response = await client.post(
        "/api/session",
        json={"email": team.member.email, "password": PASSWORD},
        headers=csrf(client),
    )
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["id"] == str(team.member.id)
    assert user["email"] == team.member.email
    assert "password_hash" not in user
    assert "password" not in user

    cookie = session_set_cookie(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 20

    me = await client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["email"] == team.member.email
    assert me.json()["agency"]["name"] == "School"


async def test_sign_in_email_is_case_insensitive(client: AsyncClient, team: Team) -> None:
    user = await sign_in(client, "  MEMBER@Test.Example ")
    assert user["id"] == str(team.member.id)


async def test_wrong_password_and_unknown_email_look_the_same(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await client.get("/sign-in")
    wrong_password = await client.post(
        "/api/session",
        json={"email": team.member.email, "password": "not the password at all"},
        headers=csrf(client),
    )
    unknown_email = await client.post(
        "/api/session",
        json={"email": "nobody@test.example", "password": "not the password at all"},
        headers=csrf(client),
    )
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == team.lead.id).values(is_active=False))
    deactivated = await client.post(
        "/api/session",
        json={"email": team.lead.email, "password": PASSWORD},
        headers=csrf(client),
    )
    assert 400 <= wrong_password.status_code < 500
    assert wrong_password.status_code == unknown_email.status_code == deactivated.status_code
    assert wrong_password.json() == unknown_email.json() == deactivated.json()
    assert not [v for v in wrong_password.headers.get_list("set-cookie") if "rt_session=" in v]
    assert (await client.get("/api/me")).status_code == 401


async def test_sign_out_ends_the_session(client: AsyncClient, team: Team, app: Litestar) -> None:
    await sign_in(client, team.chair)
    old_cookie = client.cookies.get("rt_session")
    assert old_cookie
    assert (await client.get("/api/me")).status_code == 200

    response = await client.delete("/api/session", headers=csrf(client))
    assert response.status_code == 200, response.text
    error_body(await client.get("/api/me"), 401)

    # The old cookie is dead on the server too, not only dropped from this browser.
    async with fresh_client(app) as other:
        other.cookies.set("rt_session", old_cookie)
        error_body(await other.get("/api/me"), 401)


async def test_sign_out_when_signed_out_is_401(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    error_body(await client.delete("/api/session", headers=csrf(client)), 401)


async def test_me_needs_sign_in(client: AsyncClient, runtime: Runtime) -> None:
    error_body(await client.get("/api/me"), 401)


async def test_bogus_session_cookie_is_401(client: AsyncClient, team: Team) -> None:
    client.cookies.set("rt_session", "made-up-session-token-0123456789")
    error_body(await client.get("/api/me"), 401)


# --- API tokens -----------------------------------------------------------------------------


async def test_bearer_token_works_without_cookies_or_csrf(
    client: AsyncClient, team: Team, app: Litestar, runtime: Runtime
) -> None:
    await sign_in(client, team.admin)
    token = await new_token(client)

    async with runtime.sessionmaker() as session:
        stored = (await session.scalars(select(ApiToken.token_hash))).all()
    assert stored
    assert token not in stored

    async with fresh_client(app) as other:
        assert not other.cookies
        bearer = {"Authorization": f"Bearer {token}"}
        me = await other.get("/api/me", headers=bearer)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(team.admin.id)

        # A state-changing call with a bearer token needs no CSRF header.
        created = await other.post(
            "/api/agencies", json={"name": "Youth service", "sector": "voluntary"}, headers=bearer
        )
        assert created.status_code == 201, created.text
        another = await other.post("/api/tokens", json={"name": "second"}, headers=bearer)
        assert another.status_code == 201, another.text
        assert another.json()["token"] != token


async def test_bad_and_revoked_tokens_are_401(client: AsyncClient, team: Team, app: Litestar, runtime: Runtime) -> None:
    await sign_in(client, team.member)
    token = await new_token(client)
    async with fresh_client(app) as other:
        for bad in ("rt_not-a-real-token", token + "x", "", "   "):
            response = await other.get("/api/me", headers={"Authorization": f"Bearer {bad}"})
            error_body(response, 401)
        response = await other.post("/api/tokens", json={"name": "x"}, headers={"Authorization": "Bearer rt_nonsense"})
        error_body(response, 401)

        assert (await other.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                update(ApiToken).values(revoked_at=ApiToken.created_at).where(ApiToken.user_id == team.member.id)
            )
        error_body(await other.get("/api/me", headers={"Authorization": f"Bearer {token}"}), 401)


async def test_bad_bearer_does_not_fall_back_to_the_session_cookie(client: AsyncClient, team: Team) -> None:
    """Bearer calls skip CSRF; a junk bearer header must not turn a browser's cookie into a
    CSRF-free credential."""
    await sign_in(client, team.admin)
    junk = {"Authorization": "Bearer junk-token"}
    error_body(await client.get("/api/me", headers=junk), 401)
    response = await client.post("/api/agencies", json={"name": "Forged agency", "sector": "health"}, headers=junk)
    assert response.status_code in (401, 403), response.text
    names = [a["name"] for a in (await client.get("/api/agencies")).json()]
    assert "Forged agency" not in names


async def test_token_needs_a_name(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 101}, {}):
        response = await client.post("/api/tokens", json=body, headers=csrf(client))
        assert response.status_code in (400, 422), (body, response.text)
        error_body(response, response.status_code)


async def test_token_needs_sign_in(client: AsyncClient, runtime: Runtime) -> None:
    await client.get("/sign-in")
    error_body(await client.post("/api/tokens", json={"name": "x"}, headers=csrf(client)), 401)


# --- agencies -------------------------------------------------------------------------------


async def test_agencies_need_sign_in(client: AsyncClient, team: Team) -> None:
    error_body(await client.get("/api/agencies"), 401)
    await client.get("/sign-in")
    response = await client.post("/api/agencies", json={"name": "A", "sector": "health"}, headers=csrf(client))
    error_body(response, 401)


async def test_agencies_list_for_any_signed_in_user(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.family)
    response = await client.get("/api/agencies")
    assert response.status_code == 200
    agencies = response.json()
    assert {a["name"] for a in agencies} >= {"Health visiting", "School", "Smith family"}
    for agency in agencies:
        assert set(agency) >= {"id", "name", "sector"}
        uuid.UUID(agency["id"])


async def test_only_admins_create_agencies(client: AsyncClient, team: Team) -> None:
    for who in (team.chair, team.member, team.family):
        await sign_in(client, who)
        response = await client.post(
            "/api/agencies", json={"name": "Not allowed", "sector": "health"}, headers=csrf(client)
        )
        error_body(response, 403)
    await sign_in(client, team.admin)
    names = [a["name"] for a in (await client.get("/api/agencies")).json()]
    assert "Not allowed" not in names


async def test_admin_creates_agency(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    response = await client.post("/api/agencies", json={"name": "  CAMHS  ", "sector": "health"}, headers=csrf(client))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "CAMHS"
    assert body["sector"] == "health"
    uuid.UUID(body["id"])
    listed = {a["id"]: a for a in (await client.get("/api/agencies")).json()}
    assert listed[body["id"]] == body


async def test_agency_conflicts_and_bad_input(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    duplicate = await client.post("/api/agencies", json={"name": "School", "sector": "education"}, headers=csrf(client))
    error_body(duplicate, 409)
    for body in (
        {"name": "New one", "sector": "astrology"},
        {"name": "New one", "sector": ""},
        {"name": "   ", "sector": "health"},
        {"name": "", "sector": "health"},
        {"name": "New one"},
        {"sector": "health"},
        {"name": 12, "sector": "health"},
    ):
        response = await client.post("/api/agencies", json=body, headers=csrf(client))
        assert response.status_code in (400, 422), (body, response.text)
        error_body(response, response.status_code)
    names = [a["name"] for a in (await client.get("/api/agencies")).json()]
    assert "New one" not in names


# --- users ----------------------------------------------------------------------------------


async def test_users_need_sign_in(client: AsyncClient, team: Team) -> None:
    error_body(await client.get("/api/users"), 401)


async def test_family_member_cannot_list_users(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.family)
    error_body(await client.get("/api/users"), 403)


async def test_professional_lists_users(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    response = await client.get("/api/users")
    assert response.status_code == 200
    users = response.json()
    assert {u["email"] for u in users} == {u.email for u in team.roles.values()}
    for user in users:
        assert set(user) >= {"id", "name", "email", "agency_id", "agency", "is_admin"}
        assert "password_hash" not in user


async def test_only_admins_create_users(client: AsyncClient, team: Team) -> None:
    body = {
        "email": "new.person@test.example",
        "name": "New Person",
        "agency_id": str(team.member.agency_id),
        "password": NEW_PASSWORD,
    }
    for who in (team.chair, team.member):
        await sign_in(client, who)
        error_body(await client.post("/api/users", json=body, headers=csrf(client)), 403)
    emails = [u["email"] for u in (await client.get("/api/users")).json()]
    assert body["email"] not in emails


async def test_admin_creates_user_who_can_sign_in(client: AsyncClient, team: Team, app: Litestar) -> None:
    await sign_in(client, team.admin)
    response = await client.post(
        "/api/users",
        json={
            "email": "  Nadia.Nurse@Test.Example ",
            "name": "Nadia Nurse",
            "agency_id": str(team.lead.agency_id),
            "password": NEW_PASSWORD,
        },
        headers=csrf(client),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    uuid.UUID(body["id"])
    assert body["email"] == "nadia.nurse@test.example"
    assert body["name"] == "Nadia Nurse"
    assert body["agency_id"] == str(team.lead.agency_id)
    assert body["agency"]["name"] == "Health visiting"
    assert body["is_admin"] is False
    assert "password" not in body
    assert "password_hash" not in body

    async with fresh_client(app) as other:
        user = await sign_in(other, "nadia.nurse@test.example", NEW_PASSWORD)
        assert user["id"] == body["id"]


async def test_admin_can_create_an_admin(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    response = await client.post(
        "/api/users",
        json={
            "email": "second.admin@test.example",
            "name": "Second Admin",
            "agency_id": str(team.admin.agency_id),
            "password": NEW_PASSWORD,
            "is_admin": True,
        },
        headers=csrf(client),
    )
    assert response.status_code == 201, response.text
    assert response.json()["is_admin"] is True


async def test_duplicate_email_is_409(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    for email in (team.member.email, team.member.email.upper()):
        response = await client.post(
            "/api/users",
            json={
                "email": email,
                "name": "Someone Else",
                "agency_id": str(team.member.agency_id),
                "password": NEW_PASSWORD,
            },
            headers=csrf(client),
        )
        error_body(response, 409)


async def test_bad_user_input_is_400_or_422(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    good = {
        "email": "valid.person@test.example",
        "name": "Valid Person",
        "agency_id": str(team.member.agency_id),
        "password": NEW_PASSWORD,
    }
    bad_variants = [
        {"email": "not-an-email"},
        {"email": "@test.example"},
        {"email": "someone@"},
        {"email": "two words@test.example"},
        {"password": "short"},
        {"password": "x" * 11},
        {"password": "password1234"},
        {"agency_id": str(uuid.uuid4())},
        {"agency_id": "not-a-uuid"},
        {"name": "   "},
        {"is_admin": "yes please"},
    ]
    for change in bad_variants:
        response = await client.post("/api/users", json={**good, **change}, headers=csrf(client))
        assert response.status_code in (400, 422), (change, response.text)
        error_body(response, response.status_code)
    for missing in ("email", "name", "agency_id"):
        body = {k: v for k, v in good.items() if k != missing}
        response = await client.post("/api/users", json=body, headers=csrf(client))
        assert response.status_code in (400, 422), (missing, response.text)
    emails = [u["email"] for u in (await client.get("/api/users")).json()]
    assert good["email"] not in emails


async def test_concurrent_duplicate_agency_is_409_not_500(client: AsyncClient, team: Team) -> None:
    """The same agency added twice at the same moment: one is created, the rest are conflicts."""
    await sign_in(client, team.admin)
    for round_ in range(3):
        body = {"name": f"Early help hub {round_}", "sector": "early_help"}
        answers = await asyncio.gather(
            *(client.post("/api/agencies", json=body, headers=csrf(client)) for _ in range(6))
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [a.text for a in answers]


async def test_concurrent_duplicate_user_is_409_not_500(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    for round_ in range(3):
        body = {
            "email": f"twin{round_}@test.example",
            "name": "Twin",
            "agency_id": str(team.member.agency_id),
            "password": NEW_PASSWORD,
        }
        answers = await asyncio.gather(*(client.post("/api/users", json=body, headers=csrf(client)) for _ in range(6)))
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [a.text for a in answers]
