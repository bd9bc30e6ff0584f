"""Schemathesis over the published OpenAPI document, signed in as each role: no answer is a 5xx,
every answer whose status the document declares matches its schema, malformed input is refused
with a 4xx, and every error answer has the documented shape {"status_code": N, "detail": "..."}.

The document is read from the app's own /schema. Cases go over real TCP to the app served by
uvicorn in the test's event loop (`live_url`); the generating and calling run in a worker thread,
so the loop stays free to serve them. Path parameters are drawn both at random (unknown ids) and
from a real case (its meetings, agenda item, hand, action and people), so the handlers behind
the 404s are reached too. Each role is signed in with a personal API token (no CSRF needed).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as run_with
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.routes import HTTPRoute
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import Failure, FailureGroup

from server.config import Settings
from server.platform.runtime import Runtime
from tests.support import Team, csrf, sign_in
from tests.test_authz_matrix import Worlds

ROLES = ("admin", "chair", "member", "outsider", "family", "anonymous")
EXAMPLES = 8  # valid cases per operation and role: bounded, so the file runs in well under a minute
MALFORMED = 4  # invalid ones (schemathesis' negative mode)


async def token_for(client: httpx.AsyncClient, team: Team, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    await sign_in(client, team.roles[role])
    answer = await client.post("/api/tokens", json={"name": "schemathesis"}, headers=csrf(client))
    assert answer.status_code == 201, answer.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def error_shape_problem(response: requests.Response) -> str | None:
    """API.md: errors are {"status_code": N, "detail": "..."} with N the answer's status."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"a {response.status_code} that is not JSON: {response.text[:120]!r}"
    if not isinstance(body, dict) or body.get("status_code") != response.status_code:
        return f"a {response.status_code} whose status_code field is {body!r:.160}"
    if not isinstance(body.get("detail"), str) or not body["detail"]:
        return f"a {response.status_code} without a detail: {body!r:.160}"
    return None


def explore(label: str, strategy: Any, examples: int, checks: list[Any], send: Any) -> list[str]:
    """Run `examples` cases of one operation; the distinct problems found."""
    seen: list[str] = []

    @run_with(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def exercise(case: Any) -> None:
        response = send(case)
        try:
            case.validate_response(response, checks=checks)
        except (FailureGroup, Failure) as failure:
            seen.append(f"{label}: {str(failure).strip()[:600]}\n  {case.as_curl_command()}")
            return
        if problem := error_shape_problem(response):
            seen.append(f"{label}: {problem}\n  {case.as_curl_command()}")

    exercise()
    return list(dict.fromkeys(seen))


def run_operations(schema: Any, base_url: str, headers: dict[str, str], real: dict[str, dict[str, str]]) -> list[str]:
    """Every operation of the document: EXAMPLES valid cases checked against the schema, and
    MALFORMED invalid ones that must be refused with a 4xx of the documented shape."""
    problems: list[str] = []
    with requests.Session() as http:

        def send(case: Any) -> requests.Response:
            return case.call(base_url=base_url, session=http, headers=headers, timeout=30)

        for result in schema.get_all_operations():
            operation = result.ok()
            ids = real["minutes"] if operation.path.endswith("/minutes") else real["default"]
            known = {name: value for name, value in ids.items() if f"{{{name}}}" in operation.path}
            for mode, examples, checks in (
                (GenerationMode.POSITIVE, EXAMPLES, [not_a_server_error, response_schema_conformance]),
                (GenerationMode.NEGATIVE, MALFORMED, [not_a_server_error]),
            ):
                strategy = operation.as_strategy(mode)
                if known:
                    strategy = st.one_of(operation.as_strategy(mode, path_parameters=known), strategy)
                try:
                    problems += explore(operation.label, strategy, examples, checks, send)
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE  # a call without input has no invalid form
    return problems


@pytest.mark.parametrize("role", ROLES)
async def test_generated_calls_give_no_server_error_and_fit_the_schema(
    role: str, app: Litestar, live_url: str, client: httpx.AsyncClient, runtime: Runtime, settings: Settings, team: Team
) -> None:
    document = (await client.get("/schema")).json()
    assert document["paths"], "the published document lists the API"
    schema = schemathesis.openapi.from_dict(document)
    world = await Worlds(runtime, settings, team).build(whole=True)
    ids = {
        "case_id": str(world.case_id),
        "meeting_id": str(world.meetings["live"]),
        "item_id": str(world.item_id),
        "hand_id": str(world.hand_id),
        "entry_id": str(world.entry_id),
        "scale_id": str(world.scale_id),
        "action_id": str(world.action_id),
        "user_id": str(team.member.id),
    }
    real = {"default": ids, "minutes": {**ids, "meeting_id": str(world.meetings["ended"])}}
    headers = await token_for(client, team, role)
    problems = await asyncio.to_thread(run_operations, schema, live_url, headers, real)
    assert not problems, f"as {role}:\n" + "\n".join(problems)


async def test_the_document_covers_the_json_api(app: Litestar, client: httpx.AsyncClient) -> None:
    """Every /api route the app serves is in the published document, with its methods."""
    document = (await client.get("/schema")).json()
    published = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    served = {
        (method, re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/")
        for method in route.methods
        if method != "OPTIONS"
    }
    assert served - published == set(), f"API routes missing from /schema: {sorted(served - published)}"
