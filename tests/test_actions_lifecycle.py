"""An action after the meeting, through PATCH /api/actions/{id} and GET /api/actions/{id}
(API.md, "A live meeting"; the issue's action lifecycle): accepting and declining, progress,
closing, blocking, cancelling, moving the due date, changing the owner, snoozing reminders, who
may do each, what the family sees, and the history that keeps every change with who and when.

Actions are agreed through the meeting API by the chair, as in a real meeting. Every person has
their own signed-in client (cookie and CSRF token, like a browser)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from server.actions.models import ReminderLedger
from server.notify.models import OutboxMessage
from server.people.models import User
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests import support
from tests.support import Team, csrf, sign_in


class Person(support.Person):
    """A signed-in client, with the action calls."""

    async def patch(self, action_id: str, body: Any) -> httpx.Response:
        return await self.client.patch(f"/api/actions/{action_id}", json=body, headers=csrf(self.client))

    async def change(self, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.patch(action_id, body)
        assert response.status_code == 200, f"{self.user.email} {body}: {response.status_code} {response.text}"
        return response.json()  # type: ignore[no-any-return]

    async def action(self, action_id: str) -> dict[str, Any]:
        response = await self.get(f"/api/actions/{action_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def inbox(self) -> dict[str, Any]:
        response = await self.get("/api/notifications")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@dataclass
class World:
    team: Team
    runtime: Runtime
    chair: Person
    member: Person
    lead: Person
    family: Person
    outsider: Person

    @property
    def meeting(self) -> str:
        return f"/api/meetings/{self.team.meeting.id}"

    async def add_item(self, title: str, *, professionals_only: bool = False) -> str:
        response = await self.chair.post(
            self.meeting + "/agenda", {"title": title, "professionals_only": professionals_only}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def assign(
        self,
        title: str = "Book a hearing test",
        *,
        owner: Person | None = None,
        due: date | None = None,
        area: str = "being_healthy",
        item_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": title,
            "owner_id": (owner or self.member).id,
            "due_date": (due or today_local() + timedelta(days=10)).isoformat(),
            "outcome_area": area,
        }
        if item_id is not None:
            body["agenda_item_id"] = item_id
        response = await self.chair.post(self.meeting + "/actions", body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def ledger(self, action_id: str) -> set[tuple[str, int, str]]:
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(ReminderLedger.stage, ReminderLedger.occurrence, ReminderLedger.recipient_id).where(
                    ReminderLedger.action_id == uuid.UUID(action_id)
                )
            )
            return {(stage, occurrence, str(recipient)) for stage, occurrence, recipient in rows}

    async def outbox(self) -> list[tuple[str, str]]:
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(select(OutboxMessage.recipients, OutboxMessage.subject))
            return [(recipients, subject) for recipients, subject in rows]


@pytest.fixture
async def world(app: Litestar, runtime: Runtime, team: Team, client: httpx.AsyncClient) -> AsyncIterator[World]:
    made: list[httpx.AsyncClient] = []

    def new_client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 51000 + len(made)))
        made.append(httpx.AsyncClient(transport=transport, base_url="http://testserver.local"))
        return made[-1]

    people: dict[str, Person] = {}
    for role in ("chair", "member", "lead", "family", "outsider"):
        user: User = getattr(team, role)
        http = client if role == "chair" else new_client()
        await sign_in(http, user)
        people[role] = Person(http, user)
    started = await people["chair"].post(f"/api/meetings/{team.meeting.id}/start")
    assert started.status_code == 200, started.text
    yield World(team, runtime, **people)
    for each in made:
        await each.aclose()


def detail(response: httpx.Response) -> str:
    body = response.json()
    assert body["status_code"] == response.status_code, body
    return str(body["detail"])


def kinds(action: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in action["history"]]


def titled(inbox: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in inbox["items"] if item["kind"] == kind]


# --- accepting and declining ----------------------------------------------------------------


async def test_the_owner_accepts(world: World) -> None:
    action = await world.assign()
    assert action["acceptance"] == "pending"
    assert action["status"] == "open"
    accepted = await world.member.change(action["id"], {"acceptance": "accepted"})
    assert accepted["acceptance"] == "accepted"
    assert accepted["history"][-1]["kind"] == "accepted"
    assert accepted["history"][-1]["by"]["name"] == world.team.member.name
    # Only the owner answers for themselves: the chair cannot accept on their behalf.
    other = await world.assign("Visit the school")
    refused = await world.chair.patch(other["id"], {"acceptance": "accepted"})
    assert refused.status_code == 403, refused.text
    assert (await world.member.action(other["id"]))["acceptance"] == "pending"


async def test_declining_needs_a_reason_and_tells_the_chair_and_lead_at_once(world: World) -> None:
    action = await world.assign("Arrange respite care")
    for body in ({"acceptance": "declined"}, {"acceptance": "declined", "reason": "   "}):
        response = await world.member.patch(action["id"], body)
        assert response.status_code == 422, response.text
        assert "reason" in detail(response).lower()
    unchanged = await world.member.action(action["id"])
    assert unchanged["acceptance"] == "pending"
    assert kinds(unchanged) == ["created"]
    assert (await world.chair.inbox())["items"] == []
    assigned = [(world.team.member.email, "An action for you to accept — case T-1")]
    assert await world.outbox() == assigned  # the owner was asked to accept it; a refusal sends nothing

    declined = await world.member.change(action["id"], {"acceptance": "declined", "reason": "Not our service's remit"})
    assert declined["acceptance"] == "declined"
    assert declined["history"][-1]["note"] == "Not our service's remit"

    for manager in (world.chair, world.lead):
        inbox = await manager.inbox()
        notes = titled(inbox, "action_declined")
        assert len(notes) == 1, (manager.user.email, inbox)
        assert "Arrange respite care" in notes[0]["title"]
        assert notes[0]["body"] == "Not our service's remit"
        assert notes[0]["link"] == f"/actions/{action['id']}"
        assert notes[0]["case_id"] == str(world.team.case.id)
        assert notes[0]["read"] is False
        assert inbox["unread"] >= 1
    assert titled(await world.member.inbox(), "action_declined") == []  # not the person who declined
    assert titled(await world.family.inbox(), "action_declined") == []

    mailed = [message for message in await world.outbox() if message not in assigned]
    recipients = {r for recipients, _ in mailed for r in recipients.split(", ")}
    assert {world.team.chair.email, world.team.lead.email} <= recipients
    assert world.team.member.email not in recipients
    assert all("Arrange respite care" in subject for _, subject in mailed)

    # The escalation is in the chase ledger, so the worker never sends it again.
    ledger = await world.ledger(action["id"])
    assert ("declined:lead_professional", 1, world.lead.id) in ledger
    assert ("declined:chair", 1, world.chair.id) in ledger


async def test_a_second_decline_is_a_new_escalation(world: World) -> None:
    action = await world.assign("Run the family group conference")
    await world.member.change(action["id"], {"acceptance": "declined", "reason": "No capacity"})
    await world.member.change(action["id"], {"acceptance": "accepted"})
    await world.member.change(action["id"], {"acceptance": "declined", "reason": "Still no capacity"})
    ledger = {(stage, occurrence) for stage, occurrence, _ in await world.ledger(action["id"])}
    assert ledger == {
        ("declined:lead_professional", 1),
        ("declined:chair", 1),
        ("declined:lead_professional", 2),
        ("declined:chair", 2),
    }
    notes = titled(await world.lead.inbox(), "action_declined")
    assert [n["body"] for n in notes] == ["Still no capacity", "No capacity"]  # newest first


# --- progress and closing -------------------------------------------------------------------


async def test_in_progress_note_and_done(world: World) -> None:
    action = await world.assign()
    started = await world.member.change(action["id"], {"status": "in_progress"})
    assert started["status"] == "in_progress"
    assert (started["history"][-1]["from"], started["history"][-1]["to"]) == ("open", "in_progress")

    before = datetime.now().astimezone()
    noted = await world.member.change(action["id"], {"progress_note": "Appointment booked for the 3rd"})
    assert noted["status"] == "in_progress"
    note = noted["history"][-1]
    assert note["kind"] == "progress_note"
    assert note["note"] == "Appointment booked for the 3rd"
    assert note["by"]["name"] == world.team.member.name
    at = datetime.fromisoformat(note["at"])
    assert at.tzinfo is not None
    assert before - timedelta(minutes=1) <= at <= datetime.now().astimezone() + timedelta(minutes=1)

    for empty in ("", "   "):
        response = await world.member.patch(action["id"], {"progress_note": empty})
        assert response.status_code == 422, response.text

    done = await world.member.change(action["id"], {"status": "done"})
    assert done["status"] == "done"
    assert done["overdue"] is False
    shown = await world.chair.action(action["id"])
    assert shown["status"] == "done"
    assert kinds(shown) == ["created", "status", "progress_note", "status"]


async def test_not_achieved_needs_a_reason(world: World) -> None:
    action = await world.assign()
    refused = await world.member.patch(action["id"], {"status": "not_achieved"})
    assert refused.status_code == 422, refused.text
    assert (await world.member.action(action["id"]))["status"] == "open"
    closed = await world.member.change(action["id"], {"status": "not_achieved", "reason": "Family moved away"})
    assert closed["status"] == "not_achieved"
    assert closed["status_reason"] == "Family moved away"
    assert closed["history"][-1]["note"] == "Family moved away"


async def test_blocked_needs_a_reason_and_tells_the_chair_and_lead_at_once(world: World) -> None:
    action = await world.assign("Refer to speech therapy")
    refused = await world.member.patch(action["id"], {"status": "blocked"})
    assert refused.status_code == 422, refused.text
    assert titled(await world.lead.inbox(), "action_blocked") == []

    blocked = await world.member.change(action["id"], {"status": "blocked", "reason": "Waiting list closed"})
    assert blocked["status"] == "blocked"
    assert blocked["status_reason"] == "Waiting list closed"
    for manager in (world.chair, world.lead):
        notes = titled(await manager.inbox(), "action_blocked")
        assert len(notes) == 1, manager.user.email
        assert "Refer to speech therapy" in notes[0]["title"]
        assert notes[0]["body"] == "Waiting list closed"
    recipients = {r for recipients, _ in await world.outbox() for r in recipients.split(", ")}
    assert {world.team.chair.email, world.team.lead.email} <= recipients
    ledger = await world.ledger(action["id"])
    assert ("blocked:lead_professional", 1, world.lead.id) in ledger
    assert ("blocked:chair", 1, world.chair.id) in ledger


async def test_only_the_chair_or_lead_cancels(world: World) -> None:
    action = await world.assign()
    refused = await world.member.patch(action["id"], {"status": "cancelled", "reason": "No longer needed"})
    assert refused.status_code == 403, refused.text
    assert (await world.member.action(action["id"]))["status"] == "open"
    needs_reason = await world.chair.patch(action["id"], {"status": "cancelled"})
    assert needs_reason.status_code == 422, needs_reason.text
    cancelled = await world.chair.change(action["id"], {"status": "cancelled", "reason": "No longer needed"})
    assert cancelled["status"] == "cancelled"

    other = await world.assign("Another one")
    by_lead = await world.lead.change(other["id"], {"status": "cancelled", "reason": "Duplicate"})
    assert by_lead["status"] == "cancelled"
    assert by_lead["history"][-1]["by"]["name"] == world.team.lead.name


async def test_an_unknown_status_is_refused(world: World) -> None:
    action = await world.assign()
    for status in ("finished", "declined", ""):
        response = await world.member.patch(action["id"], {"status": status})
        assert response.status_code in (400, 422), (status, response.text)
    assert (await world.member.action(action["id"]))["status"] == "open"


# --- due date -------------------------------------------------------------------------------


async def test_moving_the_due_date(world: World) -> None:
    action = await world.assign()
    today = today_local()
    new_due = (today + timedelta(days=30)).isoformat()

    by_owner = await world.member.patch(action["id"], {"due_date": new_due, "reason": "Need longer"})
    assert by_owner.status_code == 403, by_owner.text
    no_reason = await world.chair.patch(action["id"], {"due_date": new_due})
    assert no_reason.status_code == 422, no_reason.text
    past = await world.chair.patch(
        action["id"], {"due_date": (today - timedelta(days=1)).isoformat(), "reason": "Oops"}
    )
    assert past.status_code == 422, past.text
    assert (await world.member.action(action["id"]))["due_date"] == action["due_date"]

    # The chase's due-date reminders were for the old date; escalation events stay.
    async with world.runtime.sessionmaker() as session, session.begin():
        session.add(
            ReminderLedger(
                action_id=uuid.UUID(action["id"]),
                stage="before_due",
                occurrence=0,
                recipient_id=world.team.member.id,
                recipient_role="owner",
            )
        )
        session.add(
            ReminderLedger(
                action_id=uuid.UUID(action["id"]),
                stage="declined:lead_professional",
                occurrence=1,
                recipient_id=world.team.lead.id,
                recipient_role="lead_professional",
            )
        )
    moved = await world.chair.change(action["id"], {"due_date": new_due, "reason": "Clinic is booked up"})
    assert moved["due_date"] == new_due
    event = moved["history"][-1]
    assert (event["kind"], event["from"], event["to"], event["note"]) == (
        "due_date",
        action["due_date"],
        new_due,
        "Clinic is booked up",
    )
    ledger = {stage for stage, _, _ in await world.ledger(action["id"])}
    assert ledger == {"declined:lead_professional"}

    # The lead professional may move it too; today itself is not in the past.
    by_lead = await world.lead.change(action["id"], {"due_date": today.isoformat(), "reason": "Sooner"})
    assert by_lead["due_date"] == today.isoformat()


# --- owner ----------------------------------------------------------------------------------


async def test_changing_the_owner(world: World) -> None:
    action = await world.assign("Check the housing application")
    await world.member.change(action["id"], {"acceptance": "accepted"})

    by_owner = await world.member.patch(action["id"], {"owner_id": world.lead.id, "reason": "Theirs"})
    assert by_owner.status_code == 403, by_owner.text
    no_reason = await world.chair.patch(action["id"], {"owner_id": world.lead.id})
    assert no_reason.status_code == 422, no_reason.text
    for stranger in (world.outsider.id, str(world.team.admin.id), str(uuid.uuid4())):
        response = await world.chair.patch(action["id"], {"owner_id": stranger, "reason": "Theirs"})
        assert response.status_code == 422, (stranger, response.text)
    unchanged = await world.member.action(action["id"])
    assert unchanged["owner_id"] == world.member.id
    assert unchanged["acceptance"] == "accepted"

    moved = await world.chair.change(action["id"], {"owner_id": world.lead.id, "reason": "Health lead has capacity"})
    assert moved["owner_id"] == world.lead.id
    assert moved["agency_id"] == str(world.team.lead.agency_id)
    assert moved["acceptance"] == "pending"
    event = moved["history"][-1]
    assert (event["kind"], event["from"], event["to"], event["note"]) == (
        "owner",
        world.member.id,
        world.lead.id,
        "Health lead has capacity",
    )
    notes = titled(await world.lead.inbox(), "action_assigned")
    assert len(notes) == 1
    assert "Check the housing application" in notes[0]["title"]
    assert world.team.lead.email in {r for recipients, _ in await world.outbox() for r in recipients.split(", ")}

    # The former owner is now a plain member of the team for this action.
    refused = await world.member.patch(action["id"], {"status": "in_progress"})
    assert refused.status_code == 403, refused.text


# --- snooze ---------------------------------------------------------------------------------


async def test_snoozing_reminders_once(world: World) -> None:
    action = await world.assign("Attend the parenting course")
    today = today_local()
    until = (today + timedelta(days=7)).isoformat()

    by_chair = await world.chair.patch(action["id"], {"snoozed_until": until, "reason": "Holiday"})
    assert by_chair.status_code == 403, by_chair.text
    no_reason = await world.member.patch(action["id"], {"snoozed_until": until})
    assert no_reason.status_code == 422, no_reason.text
    for too_far in (today + timedelta(days=15), today, today - timedelta(days=1)):
        response = await world.member.patch(action["id"], {"snoozed_until": too_far.isoformat(), "reason": "Away"})
        assert response.status_code == 422, (too_far, response.text)
    assert (await world.member.action(action["id"]))["snoozed_until"] is None

    snoozed = await world.member.change(action["id"], {"snoozed_until": until, "reason": "On annual leave"})
    assert snoozed["snoozed_until"] == until
    assert snoozed["snooze_reason"] == "On annual leave"
    assert snoozed["history"][-1]["kind"] == "snoozed"
    notes = titled(await world.lead.inbox(), "action_snoozed")
    assert len(notes) == 1
    assert "Attend the parenting course" in notes[0]["title"]
    assert "On annual leave" in notes[0]["body"]

    again = await world.member.patch(
        action["id"], {"snoozed_until": (today + timedelta(days=3)).isoformat(), "reason": "Still away"}
    )
    assert again.status_code == 409, again.text
    assert (await world.member.action(action["id"]))["snoozed_until"] == until

    # Once means once, even when two requests race.
    raced = await world.assign("Raced")
    answers = await asyncio.gather(
        *(world.member.patch(raced["id"], {"snoozed_until": until, "reason": f"Away {n}"}) for n in range(2))
    )
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    assert kinds(await world.member.action(raced["id"])).count("snoozed") == 1

    # Fourteen days is the limit, inclusive.
    other = await world.assign("Another")
    edge = (today + timedelta(days=14)).isoformat()
    assert (await world.member.change(other["id"], {"snoozed_until": edge, "reason": "Away"}))["snoozed_until"] == edge


# --- who may see and change an action -------------------------------------------------------


async def test_who_may_change_an_action(world: World) -> None:
    family_owned = await world.assign("Take the child to the dentist", owner=world.family)
    member_owned = await world.assign("Speak to the class teacher")

    # A professional on the case who is neither owner nor manager sees it but cannot change it.
    assert (await world.member.action(family_owned["id"]))["title"] == "Take the child to the dentist"
    refused = await world.member.patch(family_owned["id"], {"status": "in_progress"})
    assert refused.status_code == 403, refused.text
    refused_note = await world.member.patch(family_owned["id"], {"progress_note": "I phoned"})
    assert refused_note.status_code == 403, refused_note.text

    # The family sees and updates an action they own, but not someone else's.
    assert (await world.family.action(family_owned["id"]))["owner_id"] == world.family.id
    await world.family.change(family_owned["id"], {"acceptance": "accepted"})
    updated = await world.family.change(family_owned["id"], {"status": "in_progress", "progress_note": "Booked"})
    assert updated["status"] == "in_progress"
    assert kinds(updated)[-2:] == ["status", "progress_note"]
    assert (await world.family.patch(member_owned["id"], {"status": "done"})).status_code == 403

    # Someone not on the case cannot tell the action exists; nor can an administrator who is
    # not on the team (they see a case's record, never its content).
    admin = Person(world.outsider.client, world.team.admin)
    for who in (world.outsider, admin):
        if who is admin:
            await sign_in(who.client, world.team.admin)
        for path in (family_owned["id"], member_owned["id"], str(uuid.uuid4())):
            seen = await who.get(f"/api/actions/{path}")
            assert seen.status_code == 404, (who.user.email, seen.text)
            changed = await who.patch(path, {"status": "done"})
            assert changed.status_code == 404, (who.user.email, changed.text)
    assert (await world.member.action(member_owned["id"]))["status"] == "open"


async def test_the_family_cannot_see_a_professionals_only_action(world: World) -> None:
    item = await world.add_item("Police intelligence", professionals_only=True)
    secret = await world.assign("Check the police record ZEBRA-PRO", item_id=item)
    plain_item = await world.add_item("School attendance")
    plain = await world.assign("Meet the head teacher", item_id=plain_item)
    refused = await world.chair.post(
        world.meeting + "/actions",
        {
            "title": "Family task under a private item",
            "owner_id": world.family.id,
            "due_date": (today_local() + timedelta(days=5)).isoformat(),
            "outcome_area": "staying_safe",
            "agenda_item_id": item,
        },
    )
    assert refused.status_code == 422, refused.text  # the family could not see its own action

    for action_id in (secret["id"],):
        assert (await world.family.get(f"/api/actions/{action_id}")).status_code == 404
        changed = await world.family.patch(action_id, {"status": "done"})
        assert changed.status_code == 404, changed.text
        assert (await world.member.action(action_id))["status"] == "open"
    assert (await world.family.action(plain["id"]))["title"] == "Meet the head teacher"

    listed = await world.family.get(f"/api/cases/{world.team.case.id}/actions")
    assert listed.status_code == 200, listed.text
    assert "ZEBRA-PRO" not in listed.text
    assert "Meet the head teacher" in listed.text


# --- malformed requests ---------------------------------------------------------------------


async def test_empty_and_unknown_patches_are_refused(world: World) -> None:
    action = await world.assign()
    empty = await world.member.patch(action["id"], {})
    assert empty.status_code == 422, empty.text
    detail(empty)
    for body in (
        {"status": "done", "colour": "red"},
        {"title": "Renamed"},
        {"owner_id": "not-a-uuid", "reason": "x"},
        {"due_date": "next week", "reason": "x"},
        [],
        "done",
    ):
        response = await world.chair.patch(action["id"], body)
        assert response.status_code in (400, 422), (body, response.status_code, response.text)
        detail(response)
    malformed = await world.chair.client.patch(
        f"/api/actions/{action['id']}",
        content=b"{not json",
        headers={**csrf(world.chair.client), "content-type": "application/json"},
    )
    assert malformed.status_code in (400, 422), malformed.text
    shown = await world.member.action(action["id"])
    assert (shown["status"], shown["title"], kinds(shown)) == ("open", action["title"], ["created"])


# --- history --------------------------------------------------------------------------------


async def test_history_keeps_every_change_in_order_with_who_and_when(world: World) -> None:
    action = await world.assign("Complete the early help assessment")
    today = today_local()
    await world.member.change(action["id"], {"acceptance": "accepted"})
    await world.member.change(action["id"], {"status": "in_progress"})
    await world.member.change(action["id"], {"progress_note": "First visit done"})
    await world.member.change(action["id"], {"status": "blocked", "reason": "Family unreachable"})
    await world.lead.change(
        action["id"], {"due_date": (today + timedelta(days=20)).isoformat(), "reason": "Give it time"}
    )
    await world.member.change(action["id"], {"snoozed_until": (today + timedelta(days=5)).isoformat(), "reason": "Ill"})
    await world.chair.change(action["id"], {"owner_id": world.lead.id, "reason": "Reallocated"})
    await world.lead.change(action["id"], {"status": "done"})

    shown = await world.family.action(action["id"])
    history = shown["history"]
    assert [(e["kind"], e["by"]["name"]) for e in history] == [
        ("created", world.team.chair.name),
        ("accepted", world.team.member.name),
        ("status", world.team.member.name),
        ("progress_note", world.team.member.name),
        ("status", world.team.member.name),
        ("due_date", world.team.lead.name),
        ("snoozed", world.team.member.name),
        ("owner", world.team.chair.name),
        ("status", world.team.lead.name),
    ]
    assert [e["to"] for e in history if e["kind"] == "status"] == ["in_progress", "blocked", "done"]
    times = [datetime.fromisoformat(e["at"]) for e in history]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
