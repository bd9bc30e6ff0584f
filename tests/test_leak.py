"""The leak test: a professionals-only item carries a marker in its title, its minutes, its
decision and its action, and the marker is searched for in everything a family member can
receive — pages, live fragments, JSON socket messages, API answers, the CSV export, the outcome
letter and the minutes (draft corrections included) as page, API and PDF, calendar files,
e-mails and notifications — and in every webhook sent about the case, which
carries no text at all. The chair's copies must show the marker, so the test cannot pass by
showing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import websockets
from sqlalchemy import select, update

from server.audit.service import Actor
from server.config import Settings
from server.meetings.models import Meeting
from server.notify.models import OutboxMessage
from server.notify.outbox import send_pending
from server.platform.runtime import Runtime
from server.timeutil import today_local
from server.webhooks import service as webhooks
from server.webhooks.events import EventType
from tests.live_support import Participant
from tests.pdftext import pdf_text
from tests.support import Team
from tests.webhook_receiver import Receiver

MARKER = "ZEBRA-MARKER-4411"


class Listener:
    """Keeps every frame a socket receives until it is closed."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.frames: list[str] = []
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        try:
            async for frame in self.connection:
                self.frames.append(frame if isinstance(frame, str) else frame.decode())
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> str:
        await self.connection.close()
        await self.task
        return "\n".join(self.frames)


async def _listen(person: Participant, path: str) -> Listener:
    url = person.base_url.replace("http://", "ws://") + path
    connection = await websockets.connect(
        url, additional_headers={"Cookie": person.cookie_header()}, origin="http://testserver.local"
    )
    return Listener(connection)


def _email_text(raw: bytes) -> str:
    """Every text part of a message, attachments included (calendar files as text, PDFs read)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    texts = [str(message["Subject"])]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_type() == "application/pdf":
            texts.append(pdf_text(payload))
        else:
            texts.append(payload.decode("utf-8", "replace"))
    return "\n".join(texts)


async def _run_the_meeting(chair: Participant, member: Participant, family: Participant, team: Team) -> str:
    meeting = f"/api/meetings/{team.meeting.id}"

    async def ok(pending: Awaitable[httpx.Response]) -> dict[str, Any]:
        response = await pending
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    private = await ok(
        chair.post(
            f"{meeting}/agenda",
            {"title": f"Police intelligence {MARKER}", "professionals_only": True, "minutes": f"Notes {MARKER}"},
        )
    )
    shared = await ok(chair.post(f"{meeting}/agenda", {"title": "Nursery attendance"}))
    await ok(chair.post(f"{meeting}/start"))
    for person in (member, family):
        await ok(person.post(f"{meeting}/join"))
    await ok(chair.post(f"{meeting}/agenda/{private['id']}/open"))
    await ok(member.post(f"{meeting}/hands", {"kind": "contribution"}))
    await ok(chair.post(f"{meeting}/floor/next"))
    agency = str(team.member.agency_id)
    await ok(
        chair.post(
            f"{meeting}/decisions",
            {
                "agenda_item_id": private["id"],
                "text": f"Share the record {MARKER}",
                "outcome": "agreed",
                "positions": [{"agency_id": agency, "position": "agree"}],
            },
        )
    )
    secret_action = await ok(
        chair.post(
            f"{meeting}/actions",
            {
                "title": f"Check the record {MARKER}",
                "owner_id": str(team.member.id),
                "agenda_item_id": private["id"],
                "due_date": (today_local() + timedelta(days=3)).isoformat(),
                "outcome_area": "staying_safe",
            },
        )
    )
    # The owner declines it: the chair and lead are told at once (notifications, e-mail).
    # The conference under the professionals-only item: notes, the board, a revealed scale.
    notes = await member.http.put(
        f"{meeting}/agenda/{private['id']}/notes", json={"text": f"Notes {MARKER}"}, headers=chair.csrf
    )
    assert notes.status_code == 403  # not the minute-taker yet
    taker = await chair.http.put(f"{meeting}/minute-taker", json={"user_id": str(team.member.id)}, headers=chair.csrf)
    assert taker.status_code == 200, taker.text
    notes = await member.http.put(
        f"{meeting}/agenda/{private['id']}/notes", json={"text": f"Live notes {MARKER}"}, headers=member.csrf
    )
    assert notes.status_code == 200, notes.text
    await ok(member.post(f"{meeting}/mapping", {"column": "worry", "text": f"Worry {MARKER}"}))
    scale = await ok(chair.post(f"{meeting}/scales", {"question": f"How safe {MARKER}?"}))
    scored = await member.http.put(
        f"{meeting}/scales/{scale['id']}/mine", json={"score": 2, "reason": f"Because {MARKER}"}, headers=member.csrf
    )
    assert scored.status_code == 200, scored.text
    await ok(chair.post(f"{meeting}/scales/{scale['id']}/reveal"))
    declined = await member.http.patch(
        f"/api/actions/{secret_action['id']}",
        json={"acceptance": "declined", "reason": f"Not ours {MARKER}"},
        headers=member.csrf,
    )
    assert declined.status_code == 200, declined.text
    await ok(chair.post(f"{meeting}/agenda/{shared['id']}/open"))
    await ok(family.post(f"{meeting}/mapping", {"column": "working_well", "text": "Nan does the school run"}))
    voice = await member.http.put(
        f"{meeting}/child-voice",
        json={"how_gathered": "At nursery", "words": "I like the sand pit"},
        headers=member.csrf,
    )
    assert voice.status_code == 200, voice.text
    await ok(
        chair.post(
            f"{meeting}/outcome",
            {"plan": True, "category": "neglect", "reasons": "Unmet health needs", "views": []},
        )
    )
    await ok(
        chair.post(
            f"{meeting}/actions",
            {
                "title": "Walk Leo to nursery",
                "owner_id": str(team.family.id),
                "due_date": (today_local() + timedelta(days=3)).isoformat(),
                "outcome_area": "enjoying_and_achieving",
            },
        )
    )
    await ok(chair.post(f"{meeting}/end"))
    # After the meeting: a professional corrects the professionals-only item (the chair is told),
    # the family corrects the shared one, the chair edits the draft and approves the minutes.
    await ok(chair.post(f"{meeting}/minutes/corrections", {"text": "The chair's own note"}))
    await ok(
        member.post(
            f"{meeting}/minutes/corrections", {"text": f"It was {MARKER} twice", "agenda_item_id": private["id"]}
        )
    )
    await ok(
        family.post(f"{meeting}/minutes/corrections", {"text": "We walk to nursery", "agenda_item_id": shared["id"]})
    )
    edited = await chair.http.put(
        f"{meeting}/minutes/items/{private['id']}", json={"text": f"Corrected {MARKER}"}, headers=chair.csrf
    )
    assert edited.status_code == 200, edited.text
    await ok(chair.post(f"{meeting}/minutes/approve"))
    return str(private["id"])


async def _everything_fetched_by(person: Participant, team: Team) -> str:
    case, meeting = team.case.id, team.meeting.id
    texts = []
    for path in (
        "/",
        f"/cases/{case}",
        f"/meetings/{meeting}",
        f"/meetings/{meeting}/room",
        f"/cases/{case}/actions?state=all",
        "/actions",
        "/notifications",
        f"/meetings/{meeting}/minutes",
        f"/meetings/{meeting}/letter",
        f"/api/meetings/{meeting}/letter",
        f"/api/meetings/{meeting}",
        f"/api/cases/{case}",
        f"/api/cases/{case}/actions",
        f"/api/cases/{case}/meetings",
        f"/api/cases/{case}/scales",
        "/api/notifications",
        f"/api/meetings/{meeting}/minutes",
        f"/api/meetings/{meeting}/reports",
        f"/cases/{case}/actions.csv?state=all",
    ):
        response = await person.http.get(path)
        assert response.status_code == 200, (path, response.status_code)
        texts.append(response.text)
    for download in (f"/meetings/{meeting}/minutes.pdf", f"/meetings/{meeting}/letter.pdf"):
        pdf = await person.http.get(download)
        assert pdf.status_code == 200
        texts.append(pdf_text(pdf.content))
    return "\n".join(texts)


async def _mail_to(runtime: Runtime, address: str) -> str:
    async with runtime.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    mine = [row for row in rows if address in row.recipients]
    assert mine, f"no e-mail at all for {address}"
    return "\n".join(_email_text(row.message) for row in mine)


async def _webhooks_sent(runtime: Runtime, settings: Settings, receiver: Receiver) -> str:
    await send_pending(runtime.sessionmaker, settings)
    return "\n".join(request.body.decode() for request in receiver.requests)


async def test_nothing_professionals_only_reaches_the_family(
    live_url: str, team: Team, runtime: Runtime, settings: Settings, receiver: Receiver
) -> None:
    async with runtime.sessionmaker() as session:
        await webhooks.create_endpoint(session, Actor(team.admin.id), url=receiver.url, events=list(EventType))
    async with runtime.sessionmaker() as session:  # a conference: the outcome and the board too
        await session.execute(update(Meeting).where(Meeting.id == team.meeting.id).values(kind="initial_conference"))
        await session.commit()
    chair = await Participant(live_url, team.chair).sign_in()
    member = await Participant(live_url, team.member).sign_in()
    family = await Participant(live_url, team.family).sign_in()
    room = f"/ws/meetings/{team.meeting.id}"
    family_json, family_html, family_inbox = (
        await _listen(family, room + "?format=json"),
        await _listen(family, room),
        await _listen(family, "/ws/me"),
    )
    chair_json = await _listen(chair, room + "?format=json")

    # Before the meeting: a report withheld from the family (the marker in its text and its
    # reason), and one shared with them.
    reports = f"/api/meetings/{team.meeting.id}/reports/mine"
    lead = await Participant(live_url, team.lead).sign_in()
    withheld = await lead.http.put(
        reports,
        json={"text": f"Police intelligence {MARKER}", "share_with_family": False, "withheld_reason": f"Risk {MARKER}"},
        headers=lead.csrf,
    )
    assert withheld.status_code == 200, withheld.text
    shared = await member.http.put(reports, json={"text": "Attendance is good"}, headers=member.csrf)
    assert shared.status_code == 200, shared.text
    await lead.close()

    await _run_the_meeting(chair, member, family, team)
    await asyncio.sleep(1.0)  # let the last broadcasts arrive

    received = {
        "JSON socket": await family_json.close(),
        "HTML fragments": await family_html.close(),
        "personal socket": await family_inbox.close(),
        "pages, API, CSV and PDF": await _everything_fetched_by(family, team),
        "e-mail (invitations, the outcome letter and the minutes with PDF)": await _mail_to(runtime, team.family.email),
        "webhooks (every event, to a case record system)": await _webhooks_sent(runtime, settings, receiver),
    }
    for channel, text in received.items():
        assert text, f"the family received nothing on the {channel}"
        assert MARKER not in text, f"the marker reached the family through the {channel}"
    assert "Walk Leo to nursery" in received["pages, API, CSV and PDF"]  # the family does see its own plan
    assert "We walk to nursery" in received["pages, API, CSV and PDF"]  # and its own correction
    assert "minutes.approved" in received["webhooks (every event, to a case record system)"]
    for shared_text in ("Nan does the school run", "I like the sand pit", "Unmet health needs"):
        assert shared_text in received["pages, API, CSV and PDF"], shared_text
        assert shared_text in received["JSON socket"], shared_text
    assert "Attendance is good" in received["pages, API, CSV and PDF"]  # and the report shared with them

    # The same channels do carry the marker to the chair, so the search above can find it.
    assert MARKER in await chair_json.close()
    assert MARKER in await _everything_fetched_by(chair, team)
    assert MARKER in await _mail_to(runtime, team.chair.email)
    for person in (chair, member, family):
        await person.close()
