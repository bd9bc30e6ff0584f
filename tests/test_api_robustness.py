"""No input, however malformed, gives a 500; and state-changing browser calls need the CSRF token.

The POST routes are taken from the app's own route list, so a route added later is covered
without touching this file."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import uuid
from datetime import date, datetime, time
from typing import Any

import httpx
import msgspec
import pytest
from httpx import AsyncClient
from litestar import Litestar
from litestar.routes import HTTPRoute

from server.platform.runtime import Runtime
from tests.support import PASSWORD, Team, csrf, sign_in

HUGE = "x" * 200_000
NUL = "a\x00b"


# --- what the routes expect -----------------------------------------------------------------


@dataclasses.dataclass
class PostRoute:
    path: str  # with the parameters filled in
    template: str
    fields: dict[str, Any]  # field name -> annotation of the body, empty when unknown


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the core type."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if args:
            return _unwrap(args[0])
    return annotation


def _fields(annotation: Any) -> dict[str, Any]:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return {f.encode_name: hints.get(f.name, f.type) for f in msgspec.structs.fields(annotation)}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(annotation)}
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return {name: f.annotation for name, f in annotation.model_fields.items()}
    return {}


def post_routes(app: Litestar, team: Team) -> list[PostRoute]:
    known_ids = {
        "case_id": team.case.id,
        "meeting_id": team.meeting.id,
        "user_id": team.member.id,
    }
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api"):
            continue
        for handler in route.route_handlers:
            if "POST" not in handler.http_methods:
                continue
            path = route.path
            for name, definition in route.path_parameters.items():
                if definition.type is uuid.UUID:
                    value: object = known_ids.get(name, uuid.uuid4())
                elif definition.type is int:
                    value = 0
                else:
                    value = "x"
                path = path.replace("{" + definition.full + "}", str(value))
            data = handler.parsed_fn_signature.parameters.get("data")
            fields = _fields(data.annotation) if data is not None else {}
            found.append(PostRoute(path, route.path, fields))
    return found


# --- bodies ---------------------------------------------------------------------------------


def plausible(annotation: Any, depth: int = 0) -> Any:
    """A value of the right type (not necessarily one the server will accept)."""
    core = _unwrap(annotation)
    origin = typing.get_origin(core)
    if origin in (list, tuple, set, frozenset) or core in (list, tuple, set):
        args = typing.get_args(core)
        return [plausible(args[0], depth + 1)] if args and depth < 3 else []
    if origin is dict or core is dict:
        return {}
    if core is bool:
        return True
    if core is int:
        return 1
    if core is float:
        return 1.0
    if core is uuid.UUID:
        return str(uuid.uuid4())
    if core is datetime:
        return "2031-01-02T10:00:00+00:00"
    if core is date:
        return "2031-01-02"
    if core is time:
        return "10:00:00"
    if typing.get_origin(core) is typing.Literal:
        return typing.get_args(core)[0]
    fields = _fields(core)
    if fields and depth < 3:
        return {name: plausible(a, depth + 1) for name, a in fields.items()}
    return "something"


def wrong_type(annotation: Any) -> Any:
    core = _unwrap(annotation)
    if core is str:
        return 12345
    if core in (int, float):
        return "twelve"
    if core is bool:
        return "maybe"
    if core in (uuid.UUID, datetime, date, time):
        return 7
    if typing.get_origin(core) in (list, tuple, set) or core in (list, tuple, set):
        return {"not": "a list"}
    return [1, 2, 3]


def replaced(fields: dict[str, Any], pick: Any, value_for: Any) -> dict[str, Any]:
    """A plausible body where every field whose core type passes `pick` gets `value_for(a)`."""
    return {name: value_for(a) if pick(_unwrap(a)) else plausible(a) for name, a in fields.items()}


def malformed_bodies(fields: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    """(label, raw body, content type) for one route."""
    as_json = "application/json"

    def enc(value: object) -> bytes:
        return json.dumps(value).encode()

    bodies: list[tuple[str, bytes, str]] = [
        ("not json", b"{this is not json", as_json),
        ("empty", b"", as_json),
        ("json array", b"[1, 2, 3]", as_json),
        ("json null", b"null", as_json),
        ("json string", b'"hello"', as_json),
        ("json number", b"1e999", as_json),
        ("deep nesting", b"[" * 5000 + b"]" * 5000, as_json),
        ("invalid utf-8", b'{"name": "\xff\xfe\xfd"}', as_json),
        ("form encoded", b"name=x&email=y", "application/x-www-form-urlencoded"),
        ("plain text", b"hello", "text/plain"),
        ("missing fields", b"{}", as_json),
        ("unknown fields only", enc({"surprise": True, "id": str(uuid.uuid4())}), as_json),
        ("wrong types", enc({name: wrong_type(a) for name, a in fields.items()}), as_json),
        ("all nulls", enc(dict.fromkeys(fields)), as_json),
        ("huge strings", enc(dict.fromkeys(fields, HUGE)), as_json),
    ]
    if fields:
        bodies += [
            ("plausible", enc(plausible_body(fields)), as_json),
            (
                "unknown uuids",
                enc(replaced(fields, lambda t: t is uuid.UUID, lambda _: str(uuid.uuid4()))),
                as_json,
            ),
            ("nul bytes", enc(replaced(fields, lambda t: t is str, lambda _: NUL)), as_json),
            (
                "huge valid strings",
                enc(replaced(fields, lambda t: t is str, lambda _: HUGE)),
                as_json,
            ),
            (
                "extreme numbers and times",
                enc(
                    replaced(
                        fields,
                        lambda t: t in (int, float, datetime, date),
                        lambda a: {
                            int: 2**63,
                            float: 1e308,
                            datetime: "9999-12-31T23:59:59-12:00",
                            date: "0001-01-01",
                        }[_unwrap(a)],
                    )
                ),
                as_json,
            ),
            (
                "negative numbers and old times",
                enc(
                    replaced(
                        fields,
                        lambda t: t in (int, float, datetime, date),
                        lambda a: {
                            int: -(2**63),
                            float: -1e308,
                            datetime: "0001-01-01T00:00:00+12:00",
                            date: "9999-12-31",
                        }[_unwrap(a)],
                    )
                ),
                as_json,
            ),
        ]
    return bodies


def plausible_body(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: plausible(a) for name, a in fields.items()}


# --- the tests ------------------------------------------------------------------------------


BODY_KINDS = [
    "not json",
    "empty",
    "json array",
    "json null",
    "json string",
    "json number",
    "deep nesting",
    "invalid utf-8",
    "form encoded",
    "plain text",
    "missing fields",
    "unknown fields only",
    "wrong types",
    "all nulls",
    "huge strings",
    "plausible",
    "unknown uuids",
    "nul bytes",
    "huge valid strings",
    "extreme numbers and times",
    "negative numbers and old times",
]


def test_every_body_kind_is_exercised() -> None:
    fields = {"name": str, "when": datetime, "count": int, "id": uuid.UUID}
    assert [label for label, _, _ in malformed_bodies(fields)] == BODY_KINDS


async def check_answer(response: httpx.Response, where: str) -> str | None:
    """What is wrong with an answer to malformed input, or None."""
    where = f"{where} -> {response.status_code}"
    if response.status_code >= 500:
        return f"{where}: {response.text[:200]}"
    try:
        answer = response.json()
    except ValueError:
        return f"{where}: not JSON: {response.text[:200]!r}"
    if response.status_code >= 400 and (
        not isinstance(answer, dict)
        or answer.get("status_code") != response.status_code
        or not isinstance(answer.get("detail"), str)
    ):
        return f"{where}: error body without status_code/detail: {answer!r}"
    return None


@pytest.mark.parametrize("kind", BODY_KINDS)
async def test_no_malformed_post_gives_a_500(client: AsyncClient, team: Team, app: Litestar, kind: str) -> None:
    routes = post_routes(app, team)
    templates = {r.template for r in routes}
    assert {
        "/api/session",
        "/api/tokens",
        "/api/agencies",
        "/api/users",
        "/api/cases",
        "/api/cases/{case_id:uuid}/members",
        "/api/cases/{case_id:uuid}/meetings",
    } <= templates, templates

    await sign_in(client, team.admin)
    failures: list[str] = []
    sent = 0
    for route in routes:
        for label, body, content_type in malformed_bodies(route.fields):
            if label != kind:
                continue
            headers = {"content-type": content_type, **csrf(client)}
            response = await client.post(route.path, content=body, headers=headers)
            sent += 1
            problem = await check_answer(response, f"POST {route.template} [{label}]")
            if problem:
                failures.append(problem)
            # Whatever happened, stay signed in as the admin for the next route.
            if (await client.get("/api/me")).status_code != 200:
                await sign_in(client, team.admin)
    assert sent >= 7
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/session", {"email": "nul\x00@test.example", "password": "whatever it is"}),
        ("/api/tokens", {"name": "my\x00token"}),
        ("/api/agencies", {"name": "Nul\x00agency", "sector": "health"}),
        ("/api/users", {"email": "nul@test.example", "name": "Nul\x00Person"}),
        ("/api/cases", {"reference": "NUL\x00-1", "display_name": "Child N."}),
        ("/api/cases/{case}/meetings", {"title": "Nul\x00meeting", "location": "Room\x00"}),
        ("/api/meetings/{meeting}/agenda", {"title": "Nul\x00item"}),
    ],
    ids=["session", "tokens", "agencies", "users", "cases", "meetings", "agenda"],
)
async def test_nul_characters_in_text_are_not_500(
    client: AsyncClient, team: Team, path: str, body: dict[str, Any]
) -> None:
    """PostgreSQL cannot store U+0000 in text; otherwise valid input containing it must be
    refused as bad input, not crash."""
    defaults: dict[str, dict[str, Any]] = {
        "/api/users": {
            "agency_id": str(team.member.agency_id),
            "password": "a perfectly fine passphrase",
        },
        "/api/cases": {"lead_professional_id": str(team.lead.id)},
        "/api/cases/{case}/meetings": {
            "kind": "tac",
            "scheduled_at": "2031-01-02T10:00:00+00:00",
            "chair_id": str(team.chair.id),
        },
    }
    who = team.chair if "{meeting}" in path else team.admin
    await sign_in(client, who)
    url = path.format(case=team.case.id, meeting=team.meeting.id)
    response = await client.post(url, json={**defaults.get(path, {}), **body}, headers=csrf(client))
    problem = await check_answer(response, f"POST {path}")
    assert problem is None, problem
    assert 400 <= response.status_code < 500


async def test_nul_characters_in_forms_are_not_500(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    token = client.cookies.get("csrftoken") or ""
    response = await client.post(
        "/sign-in",
        data={"email": "nul\x00@test.example", "password": "x", "_csrf_token": token},
    )
    assert response.status_code < 500, response.text[:300]
    await sign_in(client, team.admin)
    token = client.cookies.get("csrftoken") or ""
    response = await client.post(
        "/admin/agencies", data={"name": "Nul\x00agency", "sector": "health", "_csrf_token": token}
    )
    assert response.status_code < 500, response.text[:300]


async def test_malformed_path_ids_are_not_500(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    for path in (
        "/api/cases/not-a-uuid",
        "/api/cases/12345/members",
        f"/api/cases/{team.case.id}/members/not-a-uuid",
        "/api/cases/%00/meetings",
    ):
        for method in ("GET", "POST", "DELETE"):
            response = await client.request(method, path, json={}, headers=csrf(client) if method != "GET" else {})
            assert response.status_code < 500, (method, path, response.text)
            assert response.status_code >= 400, (method, path, response.text)


async def test_malformed_query_and_headers_are_not_500(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    for status in ("\x00", "x" * 10_000, "open&status=done"):
        response = await client.get(f"/api/cases/{team.case.id}/actions", params={"status": status})
        assert response.status_code < 500, response.text
    for authorization in (b"Bearer \x7f", b"Bearer " + b"y" * 10_000, b"Bearer \xe9t\xe9"):
        response = await client.get("/api/me", headers={"Authorization": authorization})
        assert response.status_code == 401, (authorization, response.text)
    client.cookies.clear()
    client.cookies.set("rt_session", "\x01" * 5)
    assert (await client.get("/api/me")).status_code == 401


# --- CSRF -----------------------------------------------------------------------------------


async def test_signed_in_post_without_csrf_header_is_403(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    response = await client.post("/api/agencies", json={"name": "Sneaky", "sector": "health"})
    assert response.status_code == 403, response.text
    assert response.json()["status_code"] == 403
    assert "CSRF" in response.json()["detail"]
    names = [a["name"] for a in (await client.get("/api/agencies")).json()]
    assert "Sneaky" not in names
    # Signing out is a change too.
    assert (await client.delete("/api/session")).status_code == 403
    assert (await client.get("/api/me")).status_code == 200


async def test_signed_in_post_with_wrong_csrf_token_is_403(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    real = client.cookies.get("csrftoken")
    assert real
    for wrong in ("wrong", real + "x", real[:-1], ""):
        response = await client.post(
            "/api/agencies",
            json={"name": "Sneaky", "sector": "health"},
            headers={"x-csrftoken": wrong},
        )
        assert response.status_code == 403, (wrong, response.text)
    # A token in a JSON body field is not a substitute for the header.
    response = await client.post("/api/agencies", json={"name": "Sneaky", "sector": "health", "_csrf_token": real})
    assert response.status_code == 403
    names = [a["name"] for a in (await client.get("/api/agencies")).json()]
    assert "Sneaky" not in names


async def test_csrf_cookie_alone_is_not_enough_for_a_form(client: AsyncClient, team: Team) -> None:
    """A cross-site form carries the cookie but cannot read it to echo it."""
    await sign_in(client, team.admin)
    response = await client.post("/admin/agencies", data={"name": "Sneaky", "sector": "health"})
    assert response.status_code == 403
    response = await client.post(
        "/admin/agencies", data={"name": "Sneaky", "sector": "health", "_csrf_token": "forged"}
    )
    assert response.status_code == 403
    names = [a["name"] for a in (await client.get("/api/agencies")).json()]
    assert "Sneaky" not in names


async def test_sign_in_form_needs_csrf_token(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    form = {"email": team.member.email, "password": PASSWORD}
    # No cookie and no field at all.
    response = await client.post("/sign-in", data=form)
    assert response.status_code == 403
    assert "rt_session" not in client.cookies

    page = await client.get("/sign-in")
    assert page.status_code == 200
    token = client.cookies.get("csrftoken")
    assert token
    # The cookie, but no field.
    response = await client.post("/sign-in", data=form)
    assert response.status_code == 403
    assert "rt_session" not in client.cookies
    # A wrong field.
    response = await client.post("/sign-in", data={**form, "_csrf_token": "nope"})
    assert response.status_code == 403
    assert "rt_session" not in client.cookies

    response = await client.post("/sign-in", data={**form, "_csrf_token": token})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    assert client.cookies.get("rt_session")
    assert (await client.get("/api/me")).json()["email"] == team.member.email
