"""Every answer of the JSON API is described by the OpenAPI document it publishes at /schema.

An integrator generates a client from that document; an operation whose 2xx answer is an empty
or free-form object gives them nothing to generate. So for every operation under /api, each 2xx
answer must be an object with named properties (or an array of such objects), and so must every
object nested in it, except the few fields listed in FREE_FORM, whose keys are data (an audit
row's detail differs by verb). The document is read from the app's own /schema, as a client
would read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server.meetings.room import COMMANDS

METHODS = ("get", "post", "put", "patch", "delete")

FREE_FORM = {
    ("AuditRow", "detail"): "what was recorded differs by verb",
}
"""(component, property) whose value is deliberately a free-form object, and why."""


class Document:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.components: dict[str, Any] = body.get("components", {}).get("schemas", {})

    def operations(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for path, item in sorted(self.body["paths"].items()):
            if not path.startswith("/api/"):
                continue
            for method in METHODS:
                if method in item:
                    yield f"{method.upper()} {path}", item[method]

    def problems(self, operation: dict[str, Any]) -> list[str]:
        """What leaves this operation's 2xx answers undescribed (nothing: they are typed)."""
        found: list[str] = []
        answers = {status: r for status, r in operation.get("responses", {}).items() if status.startswith("2")}
        if not answers:
            return ["no 2xx answer is declared"]
        for status, answer in answers.items():
            content = answer.get("content")
            if status == "204" and not content:
                continue
            schema = (content or {}).get("application/json", {}).get("schema")
            if schema is None:
                found.append(f"{status}: no JSON schema")
                continue
            found += [f"{status}: {p}" for p in self.untyped(schema, "answer", set())]
        return found

    def untyped(self, schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
        """The places in ``schema`` that are objects without named properties."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return []
            return self.untyped_component(name, seen | {name})
        for key in ("oneOf", "anyOf", "allOf"):
            if key in schema:
                return [p for branch in schema[key] for p in self.untyped(branch, where, seen)]
        kind = schema.get("type")
        if kind == "array":
            items = schema.get("items")
            return [f"{where}: an array of anything"] if not items else self.untyped(items, f"{where}[]", seen)
        if kind == "object" or (kind is None and "const" not in schema and "enum" not in schema):
            properties = schema.get("properties")
            if not properties:
                return [f"{where}: a free-form object"]
            return [p for name, sub in properties.items() for p in self.untyped(sub, f"{where}.{name}", seen)]
        return []

    def untyped_component(self, name: str, seen: set[str]) -> list[str]:
        schema = self.components[name]
        properties = schema.get("properties")
        if schema.get("type") != "object" or not properties:
            return self.untyped(schema, name, seen)
        found: list[str] = []
        for prop, sub in properties.items():
            if (name, prop) not in FREE_FORM:
                found += self.untyped(sub, f"{name}.{prop}", seen)
        return found


@pytest.fixture
async def document(client: httpx.AsyncClient) -> Document:
    answer = await client.get("/schema")
    assert answer.status_code == 200
    return Document(answer.json())


async def test_every_api_answer_is_described(document: Document) -> None:
    untyped = {
        label: problems for label, operation in document.operations() if (problems := document.problems(operation))
    }
    assert not untyped, "answers /schema does not describe:\n" + "\n".join(
        f"{label}: {'; '.join(problems)}" for label, problems in sorted(untyped.items())
    )


async def test_every_room_operation_is_described(document: Document) -> None:
    """Each declared room operation is in the document with a typed answer (the test above
    checks the answers; this one that none is missing)."""
    labels = dict(document.operations())
    for command in COMMANDS:
        path = "/api/meetings/{meeting_id}" + command.path.replace(":uuid", "")
        assert f"{command.method} {path}" in labels, command.name
        assert not document.problems(labels[f"{command.method} {path}"]), command.name


async def test_the_check_tells_a_free_form_answer_from_a_typed_one() -> None:
    """The checker itself: a dict[str, Any] answer and an array of them are refused; a Struct,
    a list of Structs and a free-form field named in FREE_FORM pass."""
    components = {
        "AuditRow": {"type": "object", "properties": {"id": {"type": "integer"}, "detail": {"type": "object"}}},
        "Loose": {"type": "object", "properties": {"extra": {"type": "object", "additionalProperties": {}}}},
    }
    doc = Document({"paths": {}, "components": {"schemas": components}})

    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"responses": {"200": {"content": {"application/json": {"schema": schema}}}}}

    assert doc.problems(answer({"type": "object", "additionalProperties": {}}))
    assert doc.problems(answer({"type": "array", "items": {"type": "object"}}))
    assert doc.problems(answer({"$ref": "#/components/schemas/Loose"}))
    assert doc.problems({"responses": {"400": {}}})
    assert not doc.problems(answer({"$ref": "#/components/schemas/AuditRow"}))
    assert not doc.problems(answer({"type": "array", "items": {"$ref": "#/components/schemas/AuditRow"}}))
    assert not doc.problems({"responses": {"204": {"description": "gone"}}})
