"""Over-long text is refused with a reason, never a 500, on every form and every API body.

Nothing here lists the forms or the API calls: the forms are found by signing in as each kind of
person and reading every page the app routes (the room included, live, with its forms open), and
the API bodies come from the OpenAPI document. A new form or a new body is covered the day it is
added. Each free-text field is sent, alone, far longer than its limit, with everything else in
the form or body plausible:

- a form answers 4xx and shows a message about the length (outside the room, beside the field:
  the field is marked aria-invalid and described by the message, and what was typed is kept);
- an API call answers 4xx and names the field, or says the text is too long.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.html_forms import Document, Field, Form, post_form
from tests.pages_support import PARAM, every_kind_of_thing, paths_of
from tests.support import Team, sign_in

LONG = 100_001  # longer than any field may be, and than the form reader keeps
ROLES = ("anonymous", "admin", "chair", "member", "lead", "family")
LENGTH_WORDS = re.compile(r"character|length|too long", re.IGNORECASE)


@dataclass
class World:
    team: Team
    clients: dict[str, httpx.AsyncClient]
    ids: dict[str, list[str]]
    forms: list[tuple[str, str, Form]] = field(default_factory=list)  # (role, page, form)


@pytest.fixture
async def world(app: Litestar, runtime: Runtime, team: Team) -> AsyncIterator[World]:
    clients = {
        role: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")
        for role in ROLES
    }
    try:
        ids = await every_kind_of_thing(runtime, team)
        for role in ROLES:
            if role == "anonymous":
                await clients[role].get("/sign-in")
            else:
                await sign_in(clients[role], team.roles[role])
        yield World(team, clients, ids)
    finally:
        for client in clients.values():
            await client.aclose()


# --- every page, every form ---------------------------------------------------------------


async def crawl(app: Litestar, world: World) -> None:
    seen: set[tuple[str, tuple[str, ...]]] = set()  # each form once, as the first person who sees it
    for role in ROLES:
        for _, path in paths_of(app, "GET", world.ids, api=False):
            response = await world.clients[role].get(path)
            if response.status_code != 200 or not response.headers["content-type"].startswith("text/html"):
                continue
            for form in Document(response.text).forms:
                key = (form.action, tuple(sorted(f.name for f in form.fields)))
                if form.method == "post" and key not in seen:
                    seen.add(key)
                    world.forms.append((role, path, form))


def plausible(form: Form, target: Field) -> dict[str, str]:
    """The form as a careful person fills it, with the target field far too long."""
    data = form.values()
    for number, f in enumerate(form.fields):
        if f.tag == "select" and not f.value and any(f.options):
            data[f.name] = next(option for option in f.options if option)
        elif f.type == "date" and not f.value:
            data[f.name] = (today_local() + timedelta(days=10)).isoformat()
        elif f.is_text and not f.value:
            data[f.name] = {
                "email": f"someone.{number}@example.org",
                "password": "a long and ordinary passphrase",
            }.get(f.type, "Plain words")
    if "confirm" in data and "password" in data:
        data["confirm"] = data["password"]
    data[target.name] = "x" * LONG
    name, value = form.buttons[0] if form.buttons else ("", "")
    if name:
        data[name] = value
    return data


async def test_every_form_refuses_overlong_text_beside_the_field(app: Litestar, world: World) -> None:
    await crawl(app, world)
    routes = {route for route, _ in paths_of(app, "POST", world.ids, api=False)}
    reached = {
        route
        for route, path in paths_of(app, "POST", world.ids, api=False)
        for _, _, form in world.forms
        if form.action == path
    }
    assert routes - reached == set(), f"no page offers a form for {sorted(routes - reached)}"

    failures = []
    tried = 0
    for role, page, form in world.forms:
        for target in (f for f in form.fields if f.is_text):
            tried += 1
            client = world.clients[role]
            where = f"{role} on {page}: {form.action} [{target.name}]"
            if "/room/" in form.action:  # the room places its own errors; with htmx, and without
                for htmx in (True, False):
                    headers = {"hx-request": "true"} if htmx else {}
                    response = await post_form(client, form.action, plausible(form, target), headers=headers)
                    how = "htmx" if htmx else "no script"
                    if not 400 <= response.status_code < 500:
                        failures.append(f"{where} ({how}): answered {response.status_code}")
                    elif not LENGTH_WORDS.search(response.text):
                        failures.append(f"{where} ({how}): {response.status_code} without a word about the length")
                continue
            response = await post_form(client, form.action, plausible(form, target))
            if not 400 <= response.status_code < 500:
                failures.append(f"{where}: answered {response.status_code}")
                continue
            if target.id is None:
                failures.append(f"{where}: the field has no id to carry its error")
                continue
            document = Document(response.text)
            message = document.error_beside(target.id)
            if not message or not LENGTH_WORDS.search(message):
                failures.append(f"{where}: no length message beside the field (got {message!r})")
    assert tried > 20, f"only {tried} text fields found: the crawl found too little"
    assert not failures, "\n".join(failures)


# --- every API body -----------------------------------------------------------------------


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def variants(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(schema, components)
    if "oneOf" in schema or "anyOf" in schema:
        options = [resolve(s, components) for s in schema.get("oneOf", schema.get("anyOf", []))]
        return [s for s in options if s.get("type") != "null"] or options
    return [schema]


def is_free_text(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and "enum" not in schema and "format" not in schema


@dataclass
class Sampler:
    ids: dict[str, str]
    components: dict[str, Any]

    def value(self, name: str, schema: dict[str, Any], target: tuple[str, ...] | None) -> Any:
        schema = variants(schema, self.components)[0]
        kind = schema.get("type")
        if target == ():
            limit = schema.get("maxLength")
            return "x" * (LONG if limit is None else limit + 1)
        if kind == "object":
            return self.body(schema, target)
        if kind == "array":
            return [self.value(name, schema["items"], target)] if target else []
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("format") == "uuid":
            return self.ids.get(name, self.ids["user_id"])
        if schema.get("format") == "date":
            return (today_local() + timedelta(days=10)).isoformat()
        if schema.get("format") == "date-time":
            return (datetime.now(UTC) + timedelta(days=10)).isoformat()
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "boolean":
            return False
        return "Plain words"

    def body(self, schema: dict[str, Any], target: tuple[str, ...] | None) -> dict[str, Any]:
        schema = variants(schema, self.components)[0]  # a body that may be left out: its object form
        required = set(schema.get("required", []))
        body = {}
        for name, prop in schema.get("properties", {}).items():
            inner = target[1:] if target and target[0] == name else None
            if name in required or inner is not None:
                body[name] = self.value(name, prop, inner)
        return body

    def texts(self, schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """The path to every free-text field of a body, nested ones included."""
        found = []
        for option in variants(schema, self.components):
            if is_free_text(option):
                found.append(prefix)
            elif option.get("type") == "object":
                for name, prop in option.get("properties", {}).items():
                    found += self.texts(prop, (*prefix, name))
            elif option.get("type") == "array":
                found += self.texts(option["items"], prefix)
        return found


async def test_every_api_body_refuses_overlong_text(app: Litestar, world: World) -> None:
    document = (await world.clients["admin"].get("/schema")).json()
    components = document.get("components", {}).get("schemas", {})
    single = {name: values[-1] for name, values in world.ids.items()}  # the live meeting
    single |= {
        "owner_id": str(world.team.member.id),
        "chair_id": str(world.team.chair.id),
        "lead_professional_id": str(world.team.lead.id),
        "agency_id": str(world.team.member.agency_id),
        "agenda_item_id": world.ids["item_id"][0],
    }
    sampler = Sampler(single, components)
    failures, tried = [], 0
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            path = route
            for name in PARAM.findall(route):
                path = path.replace("{" + name + "}", single[name])
            for target in sampler.texts(schema):
                tried += 1
                body = sampler.body(schema, target)
                for role in ("chair", "admin"):
                    client = world.clients[role]
                    headers = {"x-csrftoken": client.cookies.get("csrftoken") or ""}
                    response = await client.request(method.upper(), path, json=body, headers=headers)
                    if response.status_code != 403:
                        break
                where = f"{method.upper()} {route} [{'.'.join(target)}]"
                if not 400 <= response.status_code < 500:
                    failures.append(f"{where}: answered {response.status_code}")
                    continue
                answer = response.json()
                said = f"{answer.get('field', '')} {answer.get('detail', '')}"
                if target[-1] not in said and not LENGTH_WORDS.search(said):
                    failures.append(f"{where}: {response.status_code} for another reason: {said}")
    assert tried > 20, f"only {tried} text fields in the OpenAPI document"
    assert not failures, "\n".join(failures)
