"""Registering webhook endpoints (API.md, "Webhooks"): administrators add, list and remove them;
the signing secret is shown once; a bad URL or event list is refused with a reason; each change
is in the audit trail; the administration pages do the same for people."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from server.audit.models import AuditEvent
from server.platform.runtime import Runtime
from tests.support import Person, Team, csrf, sign_in
from tests.webhook_receiver import browser_of

EVERY_EVENT = [
    "meeting.ended",
    "minutes.approved",
    "action.created",
    "action.updated",
    "action.overdue",
    "timescale.overdue",
]


@pytest.fixture
async def admin(client: httpx.AsyncClient, team: Team) -> Person:
    await sign_in(client, team.admin)
    return Person(client, team.admin)


@pytest.fixture
async def chair(app: Litestar, team: Team) -> AsyncIterator[Person]:
    async with browser_of(app, team.chair) as person:
        yield person


async def _audit(runtime: Runtime, verb: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.verb == verb)))


async def test_an_endpoint_is_registered_its_secret_shown_once_and_audited(admin: Person, runtime: Runtime) -> None:
    url = "https://records.example.gov.uk/roundtable?token=receiver-own-token"
    answer = await admin.post(
        "/api/webhooks", {"url": url, "events": ["action.updated", "meeting.ended"], "description": "Case records"}
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["url"] == url
    assert created["events"] == ["meeting.ended", "action.updated"]  # canonical order, once each
    assert created["description"] == "Case records"
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", created["secret"])
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    second = (await admin.post("/api/webhooks", {"url": url, "events": ["action.updated"]})).json()
    assert second["secret"] != created["secret"]

    listed = (await admin.get("/api/webhooks")).json()
    assert [item["id"] for item in listed] == [created["id"], second["id"]]
    assert all("secret" not in item for item in listed)
    assert created["secret"] not in (await admin.get("/admin/webhooks")).text
    assert created["secret"] not in (await admin.get(f"/admin/webhooks/{created['id']}")).text
    deliveries = (await admin.get(f"/api/webhooks/{created['id']}/deliveries")).json()
    assert deliveries["deliveries"] == []
    assert "secret" not in deliveries["webhook"]

    (row, _) = await _audit(runtime, "webhook.create")
    assert row.object_id == created["id"]
    assert row.actor_id == admin.user.id
    assert row.detail == {
        "url": "https://records.example.gov.uk/roundtable",  # the query may hold a token: left out
        "events": ["meeting.ended", "action.updated"],
    }


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [
        ("ftp://records.example/hooks", "url_scheme", "https://"),
        ("javascript:alert(1)", "url_scheme", "https://"),
        ("records.example.gov.uk/hooks", "url_scheme", "https://"),
        ("https://user:secret@records.example/hooks", "url_credentials", "user name and password"),
        ("https://token@records.example/hooks", "url_credentials", "user name and password"),
        ("https:///hooks", "url_host", "host"),
        ("https://", "url_host", "host"),
        ("https://records example/hooks", "url_invalid", "spaces"),
        ("https://records.example:99999/hooks", "url_port", "port"),
        ("https://records.example:0/hooks", "url_port", "port"),
        ("https://records.example/hooks#part", "url_fragment", "fragment"),
        ("https://bad_host!.example/", "url_host", "host name"),
        ("https://[::1/hooks", "url_invalid", "not a URL"),
        ("", "url_missing", "URL"),
        ("https://r.example/" + "a" * 2000, "url_too_long", "2,000"),
    ],
)
async def test_a_bad_url_is_refused_with_a_reason(admin: Person, url: str, code: str, words: str) -> None:
    answer = await admin.post("/api/webhooks", {"url": url, "events": ["action.updated"]})
    assert answer.status_code in (400, 422), answer.text
    body = answer.json()
    assert body["status_code"] == answer.status_code, body
    assert words in body["detail"], body
    if answer.status_code == 422:
        assert body["code"] == code, body
    assert (await admin.get("/api/webhooks")).json() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",  # loopback and private addresses are allowed (API.md says why)
        "http://10.1.2.3/hooks",
        "http://[::1]:9000/hooks",
        "https://mosaic.internal/api/roundtable?source=rt",
        "HTTPS://Records.Example.GOV.UK/Hooks",
    ],
)
async def test_internal_and_loopback_receivers_are_allowed(admin: Person, url: str) -> None:
    answer = await admin.post("/api/webhooks", {"url": url, "events": ["action.updated"]})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("events", "code", "words"),
    [
        ([], "no_events", "at least one event"),
        (["action.updated", "action.deleted"], "unknown_event", "'action.deleted' is not an event"),
        (["Meeting.Ended"], "unknown_event", "choose from meeting.ended"),
    ],
)
async def test_events_must_be_known_and_at_least_one(admin: Person, events: list[str], code: str, words: str) -> None:
    answer = await admin.post("/api/webhooks", {"url": "https://r.example/h", "events": events})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    assert words in answer.json()["detail"]


async def test_malformed_bodies_are_refused_not_a_500(admin: Person) -> None:
    for body in (
        {"url": "https://r.example/h"},
        {"url": 5, "events": ["action.updated"]},
        {"url": "https://r.example/h", "events": "action.updated"},
        {"url": "https://r.example/h", "events": ["action.updated"], "secret": "mine"},
        {"url": "https://r.example/h", "events": ["action.updated"], "description": "x" * 501},
    ):
        answer = await admin.post("/api/webhooks", body)
        assert answer.status_code == 400, (body, answer.text)


async def test_removing_an_endpoint_is_audited_and_final(admin: Person, runtime: Runtime) -> None:
    created = (await admin.post("/api/webhooks", {"url": "https://r.example/h", "events": EVERY_EVENT})).json()
    removed = await admin.delete(f"/api/webhooks/{created['id']}")
    assert removed.status_code == 204, removed.text
    assert (await admin.get("/api/webhooks")).json() == []
    assert (await admin.get(f"/api/webhooks/{created['id']}/deliveries")).status_code == 404
    assert (await admin.delete(f"/api/webhooks/{created['id']}")).status_code == 404
    assert (await admin.delete(f"/api/webhooks/{uuid.uuid4()}")).status_code == 404
    (row,) = await _audit(runtime, "webhook.delete")
    assert row.object_id == created["id"]
    assert row.detail["undelivered"] == 0


async def test_only_administrators_manage_webhooks(admin: Person, chair: Person) -> None:
    created = (await admin.post("/api/webhooks", {"url": "https://r.example/h", "events": EVERY_EVENT})).json()
    for method, path in (
        ("GET", "/api/webhooks"),
        ("POST", "/api/webhooks"),
        ("DELETE", f"/api/webhooks/{created['id']}"),
        ("GET", f"/api/webhooks/{created['id']}/deliveries"),
        ("GET", "/admin/webhooks"),
        ("GET", f"/admin/webhooks/{created['id']}"),
    ):
        body = {"url": "https://evil.example/h", "events": EVERY_EVENT} if method == "POST" else None
        answer = await chair.client.request(method, path, json=body, headers=csrf(chair.client))
        assert answer.status_code == 403, (method, path, answer.status_code)
    assert len((await admin.get("/api/webhooks")).json()) == 1


# --- the administration pages --------------------------------------------------------------------


async def _form(person: Person, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
    """A browser's form post: repeated fields (the event checkboxes) as a browser sends them."""
    token = person.client.cookies.get("csrftoken") or ""
    body = urlencode([*fields, ("_csrf_token", token)])
    return await person.client.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})


async def test_the_pages_add_show_and_remove_an_endpoint(admin: Person, runtime: Runtime) -> None:
    page = await admin.get("/admin/webhooks")
    assert page.status_code == 200
    assert "No endpoints yet" in page.text
    assert 'href="/admin/webhooks"' in (await admin.get("/admin")).text

    refused = await _form(
        admin, "/admin/webhooks", [("url", "https://me:pw@records.example/h"), ("events", "action.updated")]
    )
    assert refused.status_code == 422
    assert "Take the user name and password out of the URL" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert 'value="action.updated" checked' in refused.text
    no_events = await _form(admin, "/admin/webhooks", [("url", "https://records.example/h")])
    assert no_events.status_code == 422
    assert "Choose at least one event" in no_events.text

    added = await _form(
        admin,
        "/admin/webhooks",
        [
            ("url", "https://records.example/h"),
            ("description", "Mosaic, live"),
            ("events", "action.created"),
            ("events", "action.overdue"),
        ],
    )
    assert added.status_code == 201, added.text
    secret = re.search(r'value="(whsec_[^"]+)"', added.text)
    assert secret is not None
    assert "shown this once" in added.text
    (endpoint,) = (await admin.get("/api/webhooks")).json()
    assert endpoint["events"] == ["action.created", "action.overdue"]
    assert endpoint["description"] == "Mosaic, live"
    listing = (await admin.get("/admin/webhooks")).text
    assert "https://records.example/h" in listing
    assert "Mosaic, live" in listing
    assert secret.group(1) not in listing

    detail = await admin.get(f"/admin/webhooks/{endpoint['id']}")
    assert detail.status_code == 200
    assert "Nothing sent to this endpoint yet" in detail.text
    gone = await _form(admin, f"/admin/webhooks/{endpoint['id']}/delete", [])
    assert gone.status_code == 303
    assert gone.headers["location"] == "/admin/webhooks"
    assert (await admin.get("/api/webhooks")).json() == []
    assert len(await _audit(runtime, "webhook.create")) == 1
    assert len(await _audit(runtime, "webhook.delete")) == 1
