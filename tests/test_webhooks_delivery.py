"""Delivering webhooks to a real receiver (an HTTP server on loopback, tests/webhook_receiver.py):
signed as the Standard Webhooks specification says (checked by a hand-written HMAC here, not
by the library the server signs with), tried again with the e-mail back-off until the receiver
answers 2xx, nothing lost while it is down, a slow receiver timed out, every attempt recorded,
and an event that commits with its change or not at all."""

from __future__ import annotations

import dataclasses
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import func, select, update

from server.actions.chasing import chase_pass
from server.actions.models import Action
from server.config import Settings
from server.live.events import NoPublisher
from server.notify.outbox import send_pending
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.timeutil import today_local
from server.webhooks import service as webhooks
from server.webhooks.events import ActionUpdated, Envelope, EventType, MeetingEnded
from server.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.support import ON_A_FIXED_CLOCK, Person, Team, csrf, sign_in
from tests.webhook_receiver import Receiver, browser_of, signature_matches

pytestmark = ON_A_FIXED_CLOCK


@pytest.fixture
async def admin(client: httpx.AsyncClient, team: Team) -> Person:
    await sign_in(client, team.admin)
    return Person(client, team.admin)


@pytest.fixture
async def owner(app: Litestar, team: Team) -> AsyncIterator[Person]:
    """The member, who owns the actions below."""
    async with browser_of(app, team.member) as person:
        yield person


async def register(admin: Person, url: str, events: list[str]) -> dict[str, Any]:
    answer = await admin.post("/api/webhooks", {"url": url, "events": events})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def make_action(runtime: Runtime, team: Team, due: date | None = None) -> Action:
    async with runtime.sessionmaker() as session, session.begin():
        action = Action(
            case_id=team.case.id,
            meeting_id=team.meeting.id,
            title="Book a hearing test",
            owner_id=team.member.id,
            agency_id=team.member.agency_id,
            due_date=due or today_local() + timedelta(days=10),
            outcome_area="being_healthy",
        )
        session.add(action)
    return action


async def note(owner: Person, action: Action, text: str = "Rang the audiology clinic") -> None:
    answer = await owner.client.patch(
        f"/api/actions/{action.id}", json={"progress_note": text}, headers=csrf(owner.client)
    )
    assert answer.status_code == 200, answer.text


async def deliveries(admin: Person, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await admin.get(f"/api/webhooks/{endpoint['id']}/deliveries")
    assert answer.status_code == 200, answer.text
    return answer.json()["deliveries"]  # type: ignore[no-any-return]


async def make_due_now(runtime: Runtime) -> None:
    """Time moves on: every waiting delivery's back-off has run out (a test cannot wait an hour)."""
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None)).values(next_attempt_at=func.now())
        )


async def rows(runtime: Runtime) -> list[WebhookDelivery]:
    async with runtime.sessionmaker() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        return list(await session.scalars(query))


async def test_a_delivery_is_signed_as_the_standard_says(
    admin: Person, owner: Person, receiver: Receiver, runtime: Runtime, settings: Settings, team: Team
) -> None:
    endpoint = await register(admin, receiver.url, ["action.updated"])
    action = await make_action(runtime, team)
    await note(owner, action, f"Rang the clinic about {team.case.display_name}")
    sent_at = datetime.now(UTC)
    report = await send_pending(runtime.sessionmaker, settings)
    assert (report.webhooks_delivered, report.webhooks_failed) == (1, 0)

    (request,) = receiver.requests
    assert request.path == "/roundtable/hooks"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - sent_at.timestamp()) < 10
    assert signature_matches(endpoint["secret"], request)
    assert not signature_matches(endpoint["secret"], dataclasses.replace(request, body=request.body + b" "))
    other = (await register(admin, receiver.url, ["action.updated"]))["secret"]
    assert not signature_matches(other, request)

    # The body is the documented envelope; it names the change, never the note or the child.
    envelope = msgspec.json.decode(request.body, type=Envelope[ActionUpdated])
    assert envelope.type == "action.updated"
    assert abs((envelope.timestamp - sent_at).total_seconds()) < 10
    assert envelope.data.action_id == action.id
    assert envelope.data.case_id == team.case.id
    assert envelope.data.case_reference == team.case.reference
    assert (envelope.data.changes, envelope.data.status, envelope.data.owner_id) == (
        ["progress_note"],
        "open",
        team.member.id,
    )
    assert "Rang the clinic" not in request.body.decode()
    assert team.case.display_name not in request.body.decode()

    (delivery,) = await deliveries(admin, endpoint)
    assert delivery["state"] == "delivered"
    assert delivery["webhook_id"] == request.headers["webhook-id"]
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["error"] is None
    assert attempt["next_attempt_at"] is None
    assert (await send_pending(runtime.sessionmaker, settings)).webhooks_delivered == 0  # delivered once
    assert len(receiver.requests) == 1


async def test_a_refusal_is_retried_after_the_back_off_with_the_same_webhook_id(
    admin: Person, owner: Person, receiver: Receiver, runtime: Runtime, settings: Settings, team: Team
) -> None:
    endpoint = await register(admin, receiver.url, ["action.updated"])
    await note(owner, await make_action(runtime, team))
    receiver.answers = [500]
    before = datetime.now(UTC)
    report = await send_pending(runtime.sessionmaker, settings)
    assert (report.webhooks_delivered, report.webhooks_failed) == (0, 1)
    (waiting,) = await deliveries(admin, endpoint)
    assert waiting["state"] == "retrying"
    assert waiting["delivered_at"] is None
    (first,) = waiting["attempts"]
    assert first["status_code"] == 500
    assert first["error"] == "answered 500: receiver says no"
    retry_at = datetime.fromisoformat(first["next_attempt_at"])
    assert before + timedelta(seconds=29) <= retry_at <= datetime.now(UTC) + timedelta(seconds=31)  # 30 s first
    page = (await admin.get(f"/admin/webhooks/{endpoint['id']}")).text
    assert "Retrying" in page
    assert "answered 500: receiver says no" in page
    assert "next try" in page

    # Not before the back-off has run out.
    assert (await send_pending(runtime.sessionmaker, settings)).webhooks_failed == 0
    assert len(receiver.requests) == 1
    await make_due_now(runtime)
    report = await send_pending(runtime.sessionmaker, settings)
    assert (report.webhooks_delivered, report.webhooks_failed) == (1, 0)

    refused, accepted = receiver.requests
    assert refused.headers["webhook-id"] == accepted.headers["webhook-id"]
    assert refused.body == accepted.body
    assert signature_matches(endpoint["secret"], refused)
    assert signature_matches(endpoint["secret"], accepted)
    (done,) = await deliveries(admin, endpoint)
    assert done["state"] == "delivered"
    assert done["delivered_at"] is not None
    assert [a["status_code"] for a in done["attempts"]] == [500, 200]
    assert done["attempts"][1]["next_attempt_at"] is None
    await make_due_now(runtime)
    assert (await send_pending(runtime.sessionmaker, settings)).webhooks_delivered == 0


async def test_a_receiver_that_is_down_loses_nothing_and_is_not_hammered(
    admin: Person, owner: Person, runtime: Runtime, settings: Settings, team: Team
) -> None:
    receiver = Receiver()  # not started: nothing listens on its port
    endpoint = await register(admin, receiver.url, ["action.updated"])
    first, second = await make_action(runtime, team), await make_action(runtime, team)
    for action in (first, second, first, second):
        await note(owner, action)
    queued = await rows(runtime)
    assert len(queued) == 4

    report = await send_pending(runtime.sessionmaker, settings)
    assert (report.webhooks_delivered, report.webhooks_failed) == (0, 1)  # one try: the rest wait with it
    leader, *rest = await rows(runtime)
    assert leader.attempts == 1
    assert "could not connect" in (leader.last_error or "")
    assert all(row.attempts == 0 and row.next_attempt_at == leader.next_attempt_at for row in rest)
    page = (await admin.get(f"/admin/webhooks/{endpoint['id']}")).text
    assert "Not tried yet (held back: the receiver did not answer an earlier delivery)" in page

    await make_due_now(runtime)
    assert (await send_pending(runtime.sessionmaker, settings)).webhooks_failed == 1
    leader, *rest = await rows(runtime)
    assert leader.attempts == 2
    assert all(row.attempts == 0 for row in rest)

    async with receiver:
        await make_due_now(runtime)
        report = await send_pending(runtime.sessionmaker, settings)
        assert (report.webhooks_delivered, report.webhooks_failed) == (4, 0)
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert ids == [row.webhook_id for row in queued]  # each once, oldest first
    assert [request.json()["data"]["action_id"] for request in receiver.requests] == [
        str(first.id),
        str(second.id),
        str(first.id),
        str(second.id),
    ]
    assert all(signature_matches(endpoint["secret"], request) for request in receiver.requests)
    assert [d["state"] for d in await deliveries(admin, endpoint)] == ["delivered"] * 4


async def test_a_slow_receiver_is_timed_out_and_the_attempt_recorded(
    admin: Person, owner: Person, receiver: Receiver, runtime: Runtime, settings: Settings, team: Team
) -> None:
    endpoint = await register(admin, receiver.url, ["action.updated"])
    await note(owner, await make_action(runtime, team))
    receiver.delay = 3.0
    impatient = dataclasses.replace(settings, webhook_timeout_seconds=0.5)
    report = await send_pending(runtime.sessionmaker, impatient)
    assert (report.webhooks_delivered, report.webhooks_failed) == (0, 1)
    (delivery,) = await deliveries(admin, endpoint)
    assert delivery["state"] == "retrying"
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"] == "no answer within 0.5 s"
    assert 450 <= attempt["duration_ms"] < 2500
    assert attempt["next_attempt_at"] is not None
    receiver.delay = 0


async def test_a_slow_receiver_holds_up_only_itself_and_gets_its_events_in_order(
    admin: Person, owner: Person, receiver: Receiver, runtime: Runtime, settings: Settings, team: Team
) -> None:
    async with Receiver() as slow:
        slow.delay = 1.0
        slow_endpoint = await register(admin, slow.url, ["action.updated"])
        await register(admin, receiver.url, ["action.updated"])
        action = await make_action(runtime, team)
        for _ in range(3):
            await note(owner, action)
        started = time.monotonic()
        report = await send_pending(runtime.sessionmaker, settings)
    assert (report.webhooks_delivered, report.webhooks_failed) == (6, 0)
    assert all(request.at - started < 0.8 for request in receiver.requests)  # the fast one did not wait
    arrivals = [request.at for request in slow.requests]
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(arrivals))  # one at a time
    queued = [row.webhook_id for row in await rows(runtime) if str(row.endpoint_id) == slow_endpoint["id"]]
    assert [request.headers["webhook-id"] for request in slow.requests] == queued  # oldest first


async def test_an_event_commits_with_its_change_or_not_at_all(
    admin: Person, owner: Person, runtime: Runtime, team: Team
) -> None:
    await register(admin, "http://127.0.0.1:9/hooks", ["action.updated"])
    action = await make_action(runtime, team)
    refused = await owner.client.patch(
        f"/api/actions/{action.id}", json={"status": "blocked"}, headers=csrf(owner.client)
    )
    assert refused.status_code == 422  # a block needs a reason: nothing changed, nothing sent
    assert await rows(runtime) == []

    payload = MeetingEnded(
        meeting_id=team.meeting.id,
        case_id=team.case.id,
        case_reference=team.case.reference,
        kind="tac",
        status="ended",
        scheduled_at=team.meeting.scheduled_at,
        started_at=None,
        ended_at=None,
        action_ids=[],
    )
    await register(admin, "http://127.0.0.1:9/ended", ["meeting.ended"])

    async def change_that_fails() -> None:
        async with runtime.sessionmaker() as session, transaction(session):
            assert await webhooks.emit(session, EventType.MEETING_ENDED, payload) == 1
            raise RuntimeError("the change failed after its event was emitted")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert await rows(runtime) == []
    async with runtime.sessionmaker() as session:
        with pytest.raises(TypeError):
            await webhooks.emit(session, EventType.ACTION_UPDATED, payload)

    await note(owner, action)
    (queued,) = await rows(runtime)
    assert queued.event == "action.updated"
    assert queued.attempts == 0


async def test_each_endpoint_gets_only_the_events_it_asked_for(
    admin: Person, owner: Person, runtime: Runtime, team: Team
) -> None:
    wants = await register(admin, "http://127.0.0.1:9/a", ["action.updated", "action.overdue"])
    await register(admin, "http://127.0.0.1:9/b", ["meeting.ended", "action.created"])
    await note(owner, await make_action(runtime, team))
    (queued,) = await rows(runtime)
    assert queued.endpoint_id == uuid.UUID(wants["id"])
    # Removing an endpoint drops what still waits for it, and says so in the audit trail.
    assert (await admin.delete(f"/api/webhooks/{wants['id']}")).status_code == 204
    assert await rows(runtime) == []


async def _overdue_bodies(runtime: Runtime) -> list[dict[str, Any]]:
    return [msgspec.json.decode(row.body) for row in await rows(runtime) if row.event == "action.overdue"]


async def test_action_overdue_is_sent_once_when_an_action_first_turns_overdue(
    admin: Person, runtime: Runtime, settings: Settings, team: Team
) -> None:
    await register(admin, "http://127.0.0.1:9/hooks", ["action.overdue"])
    monday = await make_action(runtime, team, date(2026, 11, 30))

    async def chase(day: int) -> None:
        await chase_pass(runtime.sessionmaker, settings, NoPublisher(), datetime(2026, 12, day, 10, tzinfo=UTC))

    await chase_pass(runtime.sessionmaker, settings, NoPublisher(), datetime(2026, 11, 30, 10, tzinfo=UTC))
    assert await _overdue_bodies(runtime) == []  # due today: not overdue yet
    await chase(1)  # Tuesday: the first working day after the due date
    (event,) = await _overdue_bodies(runtime)
    assert event["type"] == "action.overdue"
    assert event["data"]["action_id"] == str(monday.id)
    assert event["data"]["due_date"] == "2026-11-30"
    assert event["data"]["status"] == "open"
    await chase(1)
    await chase(3)  # three working days overdue: the lead professional is told; no second event
    await chase(8)  # the weekly overdue reminder: no second event either
    assert len(await _overdue_bodies(runtime)) == 1

    # A pass that catches up (the overdue reminder and an escalation due at once) sends one event.
    friday = await make_action(runtime, team, date(2026, 11, 27))
    await chase(8)
    later = [body for body in await _overdue_bodies(runtime) if body["data"]["action_id"] == str(friday.id)]
    assert len(later) == 1


async def test_no_endpoint_means_no_delivery_rows(
    owner: Person, runtime: Runtime, settings: Settings, team: Team
) -> None:
    await note(owner, await make_action(runtime, team))
    await chase_pass(runtime.sessionmaker, settings, NoPublisher(), datetime(2026, 12, 1, 10, tzinfo=UTC))
    assert await rows(runtime) == []
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
