"""Minutes issued when a meeting ends: two copies, the family's without professionals-only
content, as snapshot, page, PDF and e-mail, delivered through a real SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import select

from server.audit.models import AuditEvent
from server.config import Settings
from server.minutes.models import IssuedMinutes
from server.minutes.pdf import build_pdf
from server.minutes.service import issue_minutes
from server.notify.models import OutboxMessage
from server.notify.outbox import send_pending
from server.people.models import User
from server.platform.db import transaction
from server.platform.runtime import Runtime
from tests.pdftext import pdf_text
from tests.smtp import running_sink
from tests.support import Team, csrf, sign_in

MARKER = "ZEBRA-7431"  # only ever in the professionals-only item and what is recorded under it
DISSENT = "Health visiting wants a paediatric review before anything changes"


# --- a PDF reader just good enough for fpdf2's output ---------------------------------------------


@asynccontextmanager
async def signed_in(app: Litestar, user: User) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        await sign_in(client, user)
        yield client


async def call(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
    response = await client.post(path, json=body or {}, headers=csrf(client))
    assert response.status_code == status, response.text
    return response.json()


async def agency_ids(client: httpx.AsyncClient, case_id: uuid.UUID) -> dict[str, str]:
    case = (await client.get(f"/api/cases/{case_id}")).json()
    return {m["user"]["agency"]["name"]: m["user"]["agency_id"] for m in case["members"]}


async def end_a_meeting(app: Litestar, team: Team, *, approve: bool = True) -> uuid.UUID:
    """Chair starts; member, lead and family join; a professionals-only item with a decision and
    an action; an open item where Health visiting dissents; the lead leaves; the chair ends."""
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    due = (date.today() + timedelta(days=14)).isoformat()
    async with (
        signed_in(app, team.chair) as chair,
        signed_in(app, team.member) as member,
        signed_in(app, team.lead) as lead,
        signed_in(app, team.family) as family,
    ):
        agencies = await agency_ids(chair, team.case.id)
        await call(chair, f"{base}/start")
        for person in (member, lead, family):
            await call(person, f"{base}/join")

        hidden = await call(
            chair,
            f"{base}/agenda",
            {"title": f"Police intelligence {MARKER}", "professionals_only": True, "minutes": f"Shared {MARKER}."},
            201,
        )
        await call(chair, f"{base}/agenda/{hidden['id']}/open")
        await call(member, f"{base}/hands", {"kind": "contribution"}, 201)
        await call(chair, f"{base}/floor/next")
        decision = await call(
            chair,
            f"{base}/decisions",
            {
                "agenda_item_id": hidden["id"],
                "text": f"Hold a strategy discussion about {MARKER}",
                "outcome": "agreed",
                "positions": [{"agency_id": agencies["School"], "position": "agree"}],
            },
            201,
        )
        await call(
            chair,
            f"{base}/actions",
            {
                "title": f"Convene strategy discussion {MARKER}",
                "owner_id": str(team.lead.id),
                "due_date": due,
                "outcome_area": "staying_safe",
                "decision_id": decision["id"],
            },
            201,
        )

        shared = await call(
            chair, f"{base}/agenda", {"title": "School attendance", "minutes": "Attendance is 82% this term."}, 201
        )
        await call(chair, f"{base}/agenda/{shared['id']}/open")
        await call(family, f"{base}/hands", {"kind": "contribution"}, 201)
        await call(chair, f"{base}/floor/next")
        await asyncio.sleep(0.05)  # a measurable turn
        await call(chair, f"{base}/floor/end")
        await call(
            chair,
            f"{base}/decisions",
            {
                "agenda_item_id": shared["id"],
                "text": "Move Child T. to a part-time timetable for four weeks",
                "outcome": "agreed",
                "positions": [
                    {"agency_id": agencies["School"], "position": "agree"},
                    {"agency_id": agencies["Health visiting"], "position": "disagree", "reason": DISSENT},
                    {"agency_id": agencies["Smith family"], "position": "abstain"},
                ],
            },
            201,
        )
        await call(
            chair,
            f"{base}/actions",
            {
                "title": "Agree a part-time timetable with the family",
                "owner_id": str(team.member.id),
                "due_date": due,
                "outcome_area": "enjoying_and_achieving",
                "agenda_item_id": shared["id"],
            },
            201,
        )
        await call(lead, f"{base}/leave")
        before = await chair.get(f"{base}/minutes")
        assert before.status_code == 404  # nothing to read until the meeting ends
        ended = await call(chair, f"{base}/end")
        assert ended["status"] == "ended"
        if approve:
            approved = await call(chair, f"{base}/minutes/approve")
            assert approved["status"] == "approved"
    return meeting


async def issued(runtime: Runtime, meeting: uuid.UUID) -> dict[str, dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(select(IssuedMinutes).where(IssuedMinutes.meeting_id == meeting))
        return {row.audience: row.snapshot for row in rows}


async def minutes_mail(runtime: Runtime, meeting: uuid.UUID) -> list[OutboxMessage]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"minutes:{meeting}:%")))
        return list(rows)


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def pdf_of(message: EmailMessage) -> bytes:
    attachments = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    content = attachments[0].get_content()
    assert isinstance(content, bytes)
    return content


# --- the tests ------------------------------------------------------------------------------------


async def test_ending_issues_two_copies_and_the_familys_leaves_out_professionals_only(
    app: Litestar, runtime: Runtime, team: Team
) -> None:
    meeting = await end_a_meeting(app, team)
    copies = await issued(runtime, meeting)
    assert set(copies) == {"professionals", "family"}
    professionals, family = copies["professionals"], copies["family"]

    assert MARKER in json.dumps(professionals)
    assert MARKER not in json.dumps(family)
    assert [i["title"] for i in family["items"] if not i["is_child_voice"]] == ["School attendance"]
    assert len([i for i in professionals["items"] if not i["is_child_voice"]]) == 2
    assert next(i for i in professionals["items"] if not i["is_child_voice"])["professionals_only"] is True
    assert [a["title"] for a in family["actions"]] == ["Agree a part-time timetable with the family"]
    assert len(professionals["actions"]) == 2

    for copy in (professionals, family):
        shared = next(i for i in copy["items"] if i["title"] == "School attendance")
        (decision,) = shared["decisions"]
        assert decision["dissent"] == [{"agency": "Health visiting", "reason": DISSENT}]
        assert {p["agency"]: p["position"] for p in decision["positions"]} == {
            "Health visiting": "disagree",
            "School": "agree",
            "Smith family": "abstain",
        }
        assert copy["meeting"]["case"]["reference"] == "T-1"
        assert copy["meeting"]["ended_at"] is not None
        people = {p["name"]: p for g in copy["attendance"] for p in g["people"]}
        assert set(people) == {"Chris Chair", "Mo Member", "Lee Lead", "Fran Smith"}
        assert people["Lee Lead"]["left_at"] is not None
        assert people["Chris Chair"]["is_chair"] is True
        assert copy["voice_balance"]["by_agency"]
    assert professionals["actions"][0]["outcome_area_label"] == "Staying safe"
    # the family's voice balance counts only the turns on items the family could see
    assert {a["agency"] for a in family["voice_balance"]["by_agency"]} == {"Smith family"}
    assert {a["agency"] for a in professionals["voice_balance"]["by_agency"]} == {"Smith family", "School"}


async def test_page_api_and_pdf_give_each_reader_their_own_copy(app: Litestar, runtime: Runtime, team: Team) -> None:
    meeting = await end_a_meeting(app, team)
    async with signed_in(app, team.family) as family, signed_in(app, team.member) as member:
        page = await family.get(f"/meetings/{meeting}/minutes")
        assert page.status_code == 200
        assert "Family copy" in page.text
        assert MARKER not in page.text
        assert DISSENT in page.text
        pro_page = await member.get(f"/meetings/{meeting}/minutes")
        assert pro_page.status_code == 200
        assert MARKER in pro_page.text
        assert "Professionals&#39; copy" in pro_page.text or "Professionals' copy" in pro_page.text

        api = (await family.get(f"/api/meetings/{meeting}/minutes")).json()
        assert api["audience"] == "family"
        assert api["issued_at"]
        assert MARKER not in json.dumps(api)
        pro_api = (await member.get(f"/api/meetings/{meeting}/minutes")).json()
        assert pro_api["audience"] == "professionals"
        stored = await issued(runtime, meeting)
        assert api["snapshot"] == stored["family"], "the API gives the copy on record, every field of it"
        assert pro_api["snapshot"] == stored["professionals"]

        download = await family.get(f"/meetings/{meeting}/minutes.pdf")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.content.startswith(b"%PDF")
        text = pdf_text(download.content)
        assert "Family copy" in text
        assert "Health visiting: Disagrees" in text
        assert MARKER not in text
        assert MARKER in pdf_text((await member.get(f"/meetings/{meeting}/minutes.pdf")).content)

    async with runtime.sessionmaker() as session:
        verbs = list(await session.scalars(select(AuditEvent.verb).where(AuditEvent.meeting_id == meeting)))
    assert verbs.count("minutes.view") == 4
    assert verbs.count("minutes.export") == 2


async def test_people_off_the_team_cannot_read_the_minutes(app: Litestar, team: Team) -> None:
    meeting = await end_a_meeting(app, team)
    for who in ("outsider", "admin"):  # an administrator off the team sees the record, not the content
        async with signed_in(app, team.roles[who]) as stranger:
            for path in (
                f"/api/meetings/{meeting}/minutes",
                f"/meetings/{meeting}/minutes",
                f"/meetings/{meeting}/minutes.pdf",
            ):
                response = await stranger.get(path)
                assert response.status_code == 404, (who, path)
                assert MARKER not in response.text


async def test_every_attendee_is_emailed_their_copy_once(app: Litestar, runtime: Runtime, team: Team) -> None:
    meeting = await end_a_meeting(app, team)
    rows = await minutes_mail(runtime, meeting)
    by_recipient = {row.recipients: parse(row.message) for row in rows}
    assert sorted(by_recipient) == sorted(u.email for u in (team.chair, team.member, team.lead, team.family))
    for address, message in by_recipient.items():
        pdf = pdf_of(message)
        assert pdf.startswith(b"%PDF")
        text = pdf_text(pdf)
        body = message.get_body(("plain",))
        assert body is not None
        assert f"http://testserver.local/meetings/{meeting}/minutes" in body.get_content()
        if address == team.family.email:
            assert "Family copy" in text
            assert MARKER not in text
            assert MARKER not in message.as_string()
        else:
            assert "Professionals' copy" in text
            assert MARKER in text
    owner = by_recipient[team.member.email].get_body(("plain",))
    assert owner is not None
    assert "Agree a part-time timetable with the family" in owner.get_content()

    first = await issued(runtime, meeting)
    async with runtime.sessionmaker() as session, transaction(session):
        await issue_minutes(session, runtime.settings, meeting)  # a repeat changes and sends nothing
    assert await issued(runtime, meeting) == first
    assert len(await minutes_mail(runtime, meeting)) == len(rows)


def test_pdf_falls_back_to_a_core_font_without_dejavu() -> None:
    snapshot = {
        "audience": "family",
        "copy_label": "Family copy",
        "meeting": {
            "id": str(uuid.uuid4()),
            "title": "Review — “autumn”",
            "kind_label": "Team Around the Child meeting",
            "case": {"reference": "T-9", "display_name": "Child Ł."},
            "chair": {"name": "Chris Chair", "agency": "Partnership"},
            "location": None,
            "scheduled_at": "2026-03-03T10:00:00+00:00",
            "started_at": "2026-03-03T10:02:00+00:00",
            "ended_at": "2026-03-03T11:00:00+00:00",
        },
        "attendance": [],
        "absent": [],
        "items": [],
        "voice_balance": {"total_seconds": 0, "by_agency": [], "by_person": [], "not_heard": []},
        "actions": [],
    }
    text = pdf_text(build_pdf(snapshot, compress=False, font_dir=None))
    assert 'Review - "autumn"' in text
    assert "Family copy" in text
    assert "Child ?." in text


async def test_minutes_reach_a_real_smtp_server_exactly_once(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    meeting = await end_a_meeting(app, team)
    with running_sink() as sink:
        mail_settings = dataclasses.replace(settings, smtp_url=sink.url)
        first = await send_pending(runtime.sessionmaker, mail_settings)
        assert first.failed == 0
        second = await send_pending(runtime.sessionmaker, mail_settings)
        assert (second.sent, second.failed) == (0, 0)
    minutes = [m for m in sink.messages if m.subject.startswith("Minutes:")]
    assert sorted(a for m in minutes for a in m.rcpt_tos) == sorted(
        u.email for u in (team.chair, team.member, team.lead, team.family)
    )
    for received in minutes:
        pdf = pdf_of(received.message)
        assert pdf.startswith(b"%PDF")
        assert (MARKER in pdf_text(pdf)) is (received.rcpt_tos != (team.family.email,))
    assert {row.sent_at is not None for row in await minutes_mail(runtime, meeting)} == {True}
