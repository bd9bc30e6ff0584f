"""Calendar invitations: RFC 5545 files that calendars accept, one UID for the life of a meeting,
a higher SEQUENCE for each change, a CANCEL that removes the entry, and no child's name."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar, Event
from litestar import Litestar
from sqlalchemy import select

from server.meetings.invitations import invite
from server.meetings.models import Meeting
from server.notify.calendar import meeting_ics
from server.notify.models import OutboxMessage
from server.people.models import User
from server.platform.db import transaction
from server.platform.runtime import Runtime
from tests.support import Team, csrf, sign_in

LONDON = ZoneInfo("Europe/London")


def parse_ics(raw: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(raw)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def attendees(event: Event) -> list[str]:
    found = event.get("attendee")
    values = found if isinstance(found, list) else [found]
    return [str(v).removeprefix("mailto:") for v in values]


# --- the pure file ------------------------------------------------------------------------------


def ics(**changes: Any) -> bytes:
    arguments: dict[str, Any] = {
        "uid": "meeting-1@roundtable",
        "sequence": 3,
        "method": "REQUEST",
        "start": datetime(2026, 7, 1, 10, 30, tzinfo=LONDON),  # BST: 09:30 UTC
        "duration_minutes": 90,
        "summary": "Team Around the Child meeting — T-1",
        "description": "Join at https://example.test/meetings/1",
        "location": "Room 2, Civic Centre",
        "organizer_email": "chair@test.example",
        "organizer_name": "Chris Chair",
        "attendees": [("member@test.example", "Mo Member"), ("family@test.example", "Fran Smith")],
        "url": "https://example.test/meetings/1",
        "now": datetime(2026, 6, 1, 12, tzinfo=UTC),
    }
    return meeting_ics(**(arguments | changes))


def test_a_request_parses_back_with_every_required_property() -> None:
    raw = ics()
    assert b"\r\n" in raw  # content lines end in CRLF
    calendar, event = parse_ics(raw)
    assert calendar["version"] == "2.0"
    assert calendar["prodid"] == "-//Roundtable//Meetings//EN"
    assert calendar["method"] == "REQUEST"
    assert event["uid"] == "meeting-1@roundtable"
    assert event["sequence"] == 3
    assert event["status"] == "CONFIRMED"
    assert event["dtstart"].dt == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert event["dtstart"].dt.utcoffset() == timedelta(0)
    assert b"DTSTART:20260701T093000Z" in raw
    assert event["dtend"].dt == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
    assert event["dtstamp"].dt == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert str(event["organizer"]) == "mailto:chair@test.example"
    assert event["organizer"].params["CN"] == "Chris Chair"
    assert attendees(event) == ["member@test.example", "family@test.example"]
    assert event["location"] == "Room 2, Civic Centre"
    assert event["url"] == "https://example.test/meetings/1"


def test_a_cancel_keeps_the_uid_and_says_cancelled() -> None:
    calendar, event = parse_ics(ics(method="CANCEL", sequence=4))
    assert calendar["method"] == "CANCEL"
    assert event["status"] == "CANCELLED"
    assert event["uid"] == "meeting-1@roundtable"
    assert event["sequence"] == 4


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        ics(start=datetime(2026, 7, 1, 10, 30))


# --- invitations through the outbox ----------------------------------------------------------------


@asynccontextmanager
async def signed_in(app: Litestar, user: User) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        await sign_in(client, user)
        yield client


async def invitations(runtime: Runtime, meeting: uuid.UUID, sequence: int) -> dict[str, EmailMessage]:
    """The invitation e-mails at one sequence, by recipient."""
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"invite:{meeting}:{sequence}:%"))
        )
        found = {}
        for row in rows:
            message = message_from_bytes(row.message, policy=policy.default)
            assert isinstance(message, EmailMessage)
            found[row.recipients] = message
        return found


def calendar_of(message: EmailMessage) -> bytes:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invite.ics"
    content = part.get_payload(decode=True)
    assert isinstance(content, bytes)
    return content


def team_emails(team: Team) -> list[str]:
    return sorted(u.email for u in (team.chair, team.member, team.lead, team.family))


async def test_every_team_member_is_invited_with_a_calendar_file(runtime: Runtime, team: Team) -> None:
    async with runtime.sessionmaker() as session, transaction(session):
        meeting = await session.get(Meeting, team.meeting.id)
        assert meeting is not None
        await invite(session, runtime.settings, meeting)
        await invite(session, runtime.settings, meeting)  # a repeat sends nothing twice
    sent = await invitations(runtime, team.meeting.id, 0)
    assert sorted(sent) == team_emails(team)
    for address, message in sent.items():
        raw = calendar_of(message)
        calendar, event = parse_ics(raw)
        assert calendar["method"] == "REQUEST"
        assert event["uid"] == f"meeting-{team.meeting.id}@roundtable"
        assert event["sequence"] == 0
        assert event["summary"] == "Team Around the Child meeting — T-1"
        assert attendees(event) == [address]  # each file names its own recipient, not the team
        assert str(event["organizer"]) == f"mailto:{team.chair.email}"
        assert event["dtstart"].dt == team.meeting.scheduled_at.replace(microsecond=0)
        assert f"http://testserver.local/meetings/{team.meeting.id}" in event["description"]
        assert team.case.display_name.encode() not in raw
        assert team.case.display_name not in message.as_string()
        assert message["Subject"].startswith("Invitation: Team Around the Child meeting — T-1")


async def test_moving_keeps_the_uid_raises_the_sequence_and_cancelling_removes_it(
    app: Litestar, runtime: Runtime, team: Team
) -> None:
    meeting = team.meeting.id
    new_time = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, second=0)
    async with signed_in(app, team.chair) as chair:
        moved = await chair.patch(
            f"/api/meetings/{meeting}",
            json={"scheduled_at": new_time.astimezone(LONDON).isoformat(), "location": "Family centre"},
            headers=csrf(chair),
        )
        assert moved.status_code == 200, moved.text
        body = moved.json()
        assert datetime.fromisoformat(body["scheduled_at"]) == new_time
        assert body["location"] == "Family centre"
        assert body["version"] == team.meeting.version + 1

        update = await invitations(runtime, meeting, 1)
        assert sorted(update) == team_emails(team)
        for message in update.values():
            calendar, event = parse_ics(calendar_of(message))
            assert calendar["method"] == "REQUEST"
            assert event["uid"] == f"meeting-{meeting}@roundtable"
            assert event["sequence"] == 1
            assert event["dtstart"].dt == new_time
            assert event["location"] == "Family centre"
            assert message["Subject"].startswith("Moved:")

        same = await chair.patch(f"/api/meetings/{meeting}", json={"location": "Family centre"}, headers=csrf(chair))
        assert same.json()["version"] == body["version"]  # nothing changed, nothing sent
        assert await invitations(runtime, meeting, 2) == {}

        cancelled = await chair.post(f"/api/meetings/{meeting}/cancel", headers=csrf(chair))
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        for message in (await invitations(runtime, meeting, 2)).values():
            calendar, event = parse_ics(calendar_of(message))
            assert calendar["method"] == "CANCEL"
            assert event["status"] == "CANCELLED"
            assert event["uid"] == f"meeting-{meeting}@roundtable"
            assert event["sequence"] == 2
            assert message["Subject"].startswith("Cancelled:")
        assert sorted(await invitations(runtime, meeting, 2)) == team_emails(team)

        again = await chair.post(f"/api/meetings/{meeting}/cancel", headers=csrf(chair))
        assert again.status_code == 409
        late = await chair.patch(f"/api/meetings/{meeting}", json={"duration_minutes": 60}, headers=csrf(chair))
        assert late.status_code == 409


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("family", 403), ("outsider", 404), ("admin", 200)])
async def test_only_the_chair_or_a_case_manager_may_move_a_meeting(
    app: Litestar, team: Team, who: str, status: int
) -> None:
    async with signed_in(app, team.roles[who]) as person:
        response = await person.patch(
            f"/api/meetings/{team.meeting.id}", json={"duration_minutes": 60}, headers=csrf(person)
        )
        assert response.status_code == status, response.text
        cancel = await person.post(f"/api/meetings/{team.meeting.id}/cancel", headers=csrf(person))
        assert cancel.status_code == status, cancel.text


async def test_bad_changes_are_refused_and_a_live_meeting_cannot_move(app: Litestar, team: Team) -> None:
    path = f"/api/meetings/{team.meeting.id}"
    async with signed_in(app, team.chair) as chair:
        naive = await chair.patch(path, json={"scheduled_at": "2030-01-01T10:00:00"}, headers=csrf(chair))
        assert naive.status_code == 422
        past = await chair.patch(path, json={"scheduled_at": "2020-01-01T10:00:00+00:00"}, headers=csrf(chair))
        assert past.status_code == 422
        assert (await chair.patch(path, json={"duration_minutes": 0}, headers=csrf(chair))).status_code in (400, 422)
        assert (await chair.patch(path, json={"location": "x" * 201}, headers=csrf(chair))).status_code in (400, 422)
        assert (await chair.post(f"{path}/start", headers=csrf(chair))).status_code == 200
        live = await chair.patch(path, json={"duration_minutes": 60}, headers=csrf(chair))
        assert live.status_code == 409
        assert (await chair.post(f"{path}/cancel", headers=csrf(chair))).status_code == 409


async def test_the_meeting_page_forms_move_and_cancel(app: Litestar, runtime: Runtime, team: Team) -> None:
    meeting = team.meeting.id
    async with signed_in(app, team.chair) as chair:
        token = chair.cookies.get("csrftoken") or ""
        moved = await chair.post(
            f"/meetings/{meeting}/reschedule",
            data={"_csrf_token": token, "scheduled_at": "2031-03-04T14:30", "duration_minutes": "45", "location": ""},
        )
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/meetings/{meeting}"
        cancelled = await chair.post(f"/meetings/{meeting}/cancel", data={"_csrf_token": token})
        assert cancelled.status_code == 303
        refused = await chair.post(f"/meetings/{meeting}/cancel", data={"_csrf_token": token})
        assert refused.status_code == 303  # back to the page with the reason as a flash
    async with runtime.sessionmaker() as session:
        row = await session.get(Meeting, meeting)
        assert row is not None
        assert row.status == "cancelled"
        assert row.scheduled_at == datetime(2031, 3, 4, 14, 30, tzinfo=LONDON)
        assert row.duration_minutes == 45
        assert row.calendar_sequence == 2


async def test_the_schedule_form_include_renders(app: Litestar, team: Team) -> None:
    engine = app.template_engine
    assert engine is not None
    html = engine.get_template("meetings/_schedule_form.html").render(
        meeting=team.meeting, is_chair=True, csrf_token="token-1"
    )
    assert f'action="/meetings/{team.meeting.id}/reschedule"' in html
    assert f'action="/meetings/{team.meeting.id}/cancel"' in html
    assert 'value="token-1"' in html
    assert (
        engine.get_template("meetings/_schedule_form.html").render(meeting=team.meeting, is_chair=False).strip() == ""
    )
