"""After the meeting: the outcome letter to everyone invited (present or not) through a real SMTP
server, the draft minutes corrected by attendees and approved by the chair (API and pages), the
minutes.approved webhook, and nothing professionals-only in anything the family receives."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import date, timedelta

from litestar import Litestar
from sqlalchemy import select, update

from server.actions.chase import add_working_days
from server.audit.models import AuditEvent
from server.caller import Caller
from server.cases import service as cases
from server.conference.models import ConferenceOutcome, OutcomeView
from server.config import Settings
from server.live.events import NoPublisher
from server.meetings.models import Meeting
from server.minutes.letter import after_meeting
from server.minutes.models import MinutesCorrection, MinutesReview
from server.notify.models import Notification, OutboxMessage
from server.notify.outbox import send_pending
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.timeutil import today_local
from server.webhooks import service as webhooks
from server.webhooks.models import WebhookDelivery
from tests.pdftext import pdf_text
from tests.smtp import running_sink
from tests.support import SYSTEM, Team, csrf
from tests.test_minutes import DISSENT, MARKER, call, end_a_meeting, pdf_of, signed_in

OUTCOME_REASONS = "The family has made progress; the plan goes on for three months."


async def absent_invitee(runtime: Runtime, team: Team) -> None:
    """The outsider joins the team before the meeting and never comes: invited, not present."""
    async with runtime.sessionmaker() as session:
        await cases.add_member(
            Caller(session, team.chair, SYSTEM, runtime.settings, NoPublisher()),
            team.case.id,
            team.outsider.id,
            "professional",
        )


async def record_outcome(runtime: Runtime, team: Team) -> None:
    async with runtime.sessionmaker() as session, transaction(session):
        agencies = {m.user.agency.name: m.user.agency_id for m in await cases.team(session, team.case.id)}
        session.add(
            ConferenceOutcome(
                meeting_id=team.meeting.id,
                plan=True,
                categories=["neglect"],
                reasons=OUTCOME_REASONS,
                recorded_by_id=team.chair.id,
                views=[
                    OutcomeView(agency_id=agencies["School"], view="plan"),
                    OutcomeView(agency_id=agencies["Health visiting"], view="no_plan", reason="Progress is real"),
                ],
            )
        )


async def outbox(runtime: Runtime, prefix: str) -> list[OutboxMessage]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(prefix + "%"))))


# --- the outcome letter ---------------------------------------------------------------------------


async def test_the_letter_reaches_everyone_invited_once_and_the_familys_has_nothing_professionals_only(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    await absent_invitee(runtime, team)
    await record_outcome(runtime, team)
    meeting = await end_a_meeting(app, team, approve=False)
    async with runtime.sessionmaker() as session, transaction(session):
        await after_meeting(session, runtime.settings, meeting)  # a repeat sends nothing more

    with running_sink() as sink:
        mail_settings = dataclasses.replace(settings, smtp_url=sink.url)
        assert (await send_pending(runtime.sessionmaker, mail_settings)).failed == 0
        assert (await send_pending(runtime.sessionmaker, mail_settings)).sent == 0
    letters = [m for m in sink.messages if m.subject.startswith("Outcome:")]
    everyone = (team.chair, team.member, team.lead, team.family, team.outsider)
    assert sorted(a for m in letters for a in m.rcpt_tos) == sorted(u.email for u in everyone)
    assert not [m for m in sink.messages if m.subject.startswith("Minutes:")], "the minutes wait for approval"

    by_address = {m.rcpt_tos[0]: m for m in letters}
    absent = by_address[team.outsider.email]
    assert "You could not be there" in absent.text
    assert "will be sent to you once the chair" in absent.text
    present = by_address[team.member.email]
    assert "send the chair a correction" in present.text
    assert f"http://testserver.local/meetings/{meeting}/minutes" in present.text
    assert "Agree a part-time timetable with the family" in present.text
    # No meeting is scheduled yet: the letter names the statutory milestone the next one must meet.
    assert "Next: Team Around the Child review, due by" in present.text
    for received in letters:
        text = pdf_text(pdf_of(received.message))
        assert "Neglect" in received.text
        assert OUTCOME_REASONS in received.text
        assert DISSENT in received.text
        if received.rcpt_tos == (team.family.email,):
            assert "Family copy" in text
            assert MARKER not in text
            assert MARKER not in received.message.as_string()
        else:
            assert "Professionals' copy" in text
            assert MARKER in text
            assert MARKER in received.text

    async with signed_in(app, team.family) as family, signed_in(app, team.outsider) as outsider:
        page = await family.get(f"/meetings/{meeting}/letter")
        assert page.status_code == 200
        assert "Family copy" in page.text
        assert MARKER not in page.text
        assert OUTCOME_REASONS in page.text
        api = (await family.get(f"/api/meetings/{meeting}/letter")).json()
        assert api["audience"] == "family"
        assert MARKER not in json.dumps(api)
        assert api["letter"]["outcome"]["plan"] is True
        pdf = await family.get(f"/meetings/{meeting}/letter.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert MARKER not in pdf_text(pdf.content)
        pro = await outsider.get(f"/meetings/{meeting}/letter")
        assert pro.status_code == 200
        assert MARKER in pro.text


async def test_the_letter_names_the_next_meeting_when_one_is_scheduled(
    app: Litestar, runtime: Runtime, team: Team
) -> None:
    async with signed_in(app, team.chair) as chair:
        scheduled = await call(
            chair,
            f"/api/cases/{team.case.id}/meetings",
            {
                "title": "Review",
                "kind": "tac",
                "scheduled_at": f"{date.today() + timedelta(days=40)}T10:00:00+00:00",
                "chair_id": str(team.chair.id),
            },
            201,
        )
    meeting = await end_a_meeting(app, team, approve=False)
    async with signed_in(app, team.member) as member:
        letter = (await member.get(f"/api/meetings/{meeting}/letter")).json()["letter"]
    assert [m["id"] for m in letter["next_meetings"]] == [scheduled["id"]]
    assert [(m["kind"], m["meeting_id"]) for m in letter["milestones"]] == [("tac_review", scheduled["id"])]
    assert letter["next_line"].startswith("Next meeting: Team Around the Child meeting, ")


async def test_an_outcome_recorded_after_the_end_sends_the_letter_again_amended(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    await absent_invitee(runtime, team)
    async with runtime.sessionmaker() as session, transaction(session):
        await session.execute(update(Meeting).where(Meeting.id == team.meeting.id).values(kind="initial_conference"))
    meeting = await end_a_meeting(app, team, approve=False)
    everyone = sorted(u.email for u in (team.chair, team.member, team.lead, team.family, team.outsider))
    async with signed_in(app, team.chair) as chair, signed_in(app, team.family) as family:
        first = (await family.get(f"/api/meetings/{meeting}/letter")).json()
        assert first["letter"]["outcome"] is None
        assert first["letter"]["amended_at"] is None
        health = str(team.lead.agency_id)
        outcome = {"plan": True, "category": "neglect", "reasons": OUTCOME_REASONS,
                   "views": [{"agency_id": health, "view": "no_plan", "reason": "Progress is real"}]}  # fmt: skip
        await call(chair, f"/api/meetings/{meeting}/outcome", outcome, 201)
        amended = (await family.get(f"/api/meetings/{meeting}/letter")).json()
        assert amended["sent_at"] == first["sent_at"]  # when it first went; the amendment has its own time
        assert amended["letter"]["amended_at"] is not None
        assert amended["letter"]["outcome"]["reasons"] == OUTCOME_REASONS
        assert MARKER not in json.dumps(amended)  # still the family's copy
        page = (await family.get(f"/meetings/{meeting}/letter")).text
        assert "Amended" in page
        assert OUTCOME_REASONS in page
        assert "Amended" in pdf_text((await family.get(f"/meetings/{meeting}/letter.pdf")).content)
        # corrected the same day: sent again, amended once more
        await call(chair, f"/api/meetings/{meeting}/outcome", {**outcome, "reasons": "Corrected reasons"}, 201)

    with running_sink() as sink:
        mail_settings = dataclasses.replace(settings, smtp_url=sink.url)
        assert (await send_pending(runtime.sessionmaker, mail_settings)).failed == 0
    by_subject: dict[str, list[str]] = {}
    for message in sink.messages:
        by_subject.setdefault(message.subject.split(":")[0], []).extend(message.rcpt_tos)
    assert sorted(by_subject["Outcome"]) == everyone  # the first letter, without an outcome
    assert sorted(by_subject["Outcome, amended"]) == sorted(everyone * 2)  # once per recording
    amended_mail = next(m for m in sink.messages if m.subject.startswith("Outcome, amended") and "Corrected" in m.text)
    assert "replaces the letter sent before" in amended_mail.text
    async with runtime.sessionmaker() as session:
        rows = (await session.scalars(select(AuditEvent).where(AuditEvent.verb == "outcome.record"))).all()
    assert [row.detail["letter_amended"] for row in rows] == [True, True]


# --- the lifecycle ---------------------------------------------------------------------------------


async def test_draft_corrections_edits_and_approval_through_the_api(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    await absent_invitee(runtime, team)
    async with runtime.sessionmaker() as session:
        await webhooks.create_endpoint(session, SYSTEM, url="http://127.0.0.1:9/hook", events=["minutes.approved"])
    meeting = await end_a_meeting(app, team, approve=False)
    base = f"/api/meetings/{meeting}/minutes"
    async with (
        signed_in(app, team.chair) as chair,
        signed_in(app, team.member) as member,
        signed_in(app, team.family) as family,
        signed_in(app, team.outsider) as outsider,
    ):
        draft = (await member.get(base)).json()
        assert draft["status"] == "draft"
        assert draft["draft_until"] == add_working_days(today_local(), 5, settings.chase).isoformat()
        assert draft["corrections"] == []
        assert draft["can_correct"] is True
        assert draft["can_approve"] is False
        assert draft["snapshot"]["copy_label"] == "Draft: professionals' copy"
        items = {i["title"]: i["id"] for i in draft["snapshot"]["items"]}
        hidden = next(i for t, i in items.items() if MARKER in t)
        shared = items["School attendance"]

        absent = await outsider.post(f"{base}/corrections", json={"text": "I was there"}, headers=csrf(outsider))
        assert (absent.status_code, absent.json()["code"]) == (403, "not_an_attendee")
        sneaky = await family.post(
            f"{base}/corrections", json={"text": "x", "agenda_item_id": hidden}, headers=csrf(family)
        )
        assert (sneaky.status_code, sneaky.json()["code"]) == (422, "unknown_item")
        empty = await member.post(f"{base}/corrections", json={"text": "  "}, headers=csrf(member))
        assert empty.status_code == 422
        mine = await call(
            member, f"{base}/corrections", {"text": f"Attendance was 84% {MARKER}", "agenda_item_id": shared}, 201
        )
        assert mine["agenda_item"] == "School attendance"
        assert mine["state"] == "open"
        theirs = await call(family, f"{base}/corrections", {"text": "We said the mornings are hard."}, 201)

        seen_by_family = (await family.get(base)).json()
        assert [c["id"] for c in seen_by_family["corrections"]] == [theirs["id"]]
        assert MARKER not in json.dumps(seen_by_family)
        assert [c["id"] for c in (await chair.get(base)).json()["corrections"]] == [mine["id"], theirs["id"]]

        refused = await member.post(f"{base}/approve", headers=csrf(member))
        assert (refused.status_code, refused.json()["code"]) == (403, "not_chair")
        edited = await chair.put(
            f"{base}/items/{shared}", json={"text": "Attendance is 84% this term."}, headers=csrf(chair)
        )
        assert edited.status_code == 200, edited.text
        resolved = await call(
            chair, f"{base}/corrections/{mine['id']}/resolve", {"state": "applied", "reply": "Thank you"}
        )
        assert resolved["corrections"][0]["state"] == "applied"
        family_draft = (await family.get(base)).json()["snapshot"]
        assert next(i for i in family_draft["items"] if i["id"] == shared)["minutes"] == "Attendance is 84% this term."

        approved = await call(chair, f"{base}/approve")
        assert approved["status"] == "approved"
        assert approved["approved_by"]["name"] == team.chair.name
        assert approved["snapshot"]["copy_label"] == "Professionals' copy"
        again = await chair.post(f"{base}/approve", headers=csrf(chair))
        assert (again.status_code, again.json()["code"]) == (409, "minutes_approved")
        late = await member.post(f"{base}/corrections", json={"text": "one more"}, headers=csrf(member))
        assert (late.status_code, late.json()["code"]) == (409, "minutes_approved")
        edit_late = await chair.put(f"{base}/items/{shared}", json={"text": "changed"}, headers=csrf(chair))
        assert edit_late.status_code == 409
        frozen = (await family.get(base)).json()
        assert frozen["status"] == "approved"
        assert frozen["snapshot"]["copy_label"] == "Family copy"

    minutes = await outbox(runtime, f"minutes:{meeting}:")
    assert sorted(m.recipients for m in minutes) == sorted(
        u.email for u in (team.chair, team.member, team.lead, team.family, team.outsider)
    )
    family_mail = next(m for m in minutes if m.recipients == team.family.email)
    assert MARKER not in family_mail.message.decode(errors="replace")

    async with runtime.sessionmaker() as session:
        (delivery,) = (await session.scalars(select(WebhookDelivery))).all()
        verbs = list(await session.scalars(select(AuditEvent.verb).where(AuditEvent.meeting_id == meeting)))
        notes = list(await session.scalars(select(Notification.kind).where(Notification.user_id == team.chair.id)))
    body = json.loads(delivery.body)
    assert delivery.event == "minutes.approved"
    assert body["type"] == "minutes.approved"
    assert body["data"]["meeting_id"] == str(meeting)
    assert body["data"]["status"] == "approved"
    assert MARKER not in delivery.body.decode()
    assert "Child T." not in delivery.body.decode()
    assert verbs.count("minutes.correct") == 2
    assert verbs.count("minutes.approve") == 1
    assert verbs.count("minutes.edit") == 1
    assert verbs.count("minutes.resolve_correction") == 1
    assert notes.count("minutes_correction") == 2


async def test_corrections_close_after_draft_until(app: Litestar, runtime: Runtime, team: Team) -> None:
    meeting = await end_a_meeting(app, team, approve=False)
    async with runtime.sessionmaker() as session, transaction(session):
        await session.execute(
            update(MinutesReview)
            .where(MinutesReview.meeting_id == meeting)
            .values(draft_until=date.today() - timedelta(days=1))
        )
    async with signed_in(app, team.member) as member:
        late = await member.post(
            f"/api/meetings/{meeting}/minutes/corrections", json={"text": "x"}, headers=csrf(member)
        )
        assert (late.status_code, late.json()["code"]) == (409, "corrections_closed")
        assert (await member.get(f"/api/meetings/{meeting}/minutes")).json()["can_correct"] is False


async def test_the_pages_an_attendee_corrects_and_the_chair_reviews_and_approves(
    app: Litestar, runtime: Runtime, team: Team
) -> None:
    meeting = await end_a_meeting(app, team, approve=False)
    async with signed_in(app, team.member) as member, signed_in(app, team.chair) as chair:
        page = await member.get(f"/meetings/{meeting}/minutes")
        assert page.status_code == 200
        assert "These minutes are a draft" in page.text
        assert 'id="correction-form"' in page.text
        draft = (await member.get(f"/api/meetings/{meeting}/minutes")).json()
        shared = next(i["id"] for i in draft["snapshot"]["items"] if i["title"] == "School attendance")
        token = member.cookies.get("csrftoken") or ""
        refused = await member.post(
            f"/meetings/{meeting}/minutes/corrections", data={"_csrf_token": token, "text": ""}, headers=csrf(member)
        )
        assert refused.status_code == 422
        assert "Write what should be corrected." in refused.text
        sent = await member.post(
            f"/meetings/{meeting}/minutes/corrections",
            data={"_csrf_token": token, "text": "It was 84%, not 82%.", "agenda_item_id": shared},
            headers=csrf(member),
        )
        assert sent.status_code in (302, 303), sent.text
        assert "It was 84%, not 82%." in (await member.get(f"/meetings/{meeting}/minutes")).text
        assert (await member.get(f"/meetings/{meeting}/minutes/review")).status_code == 403

        review = await chair.get(f"/meetings/{meeting}/minutes/review")
        assert review.status_code == 200
        assert "It was 84%, not 82%." in review.text
        assert f'id="text-{shared}"' in review.text
        chair_token = chair.cookies.get("csrftoken") or ""
        saved = await chair.post(
            f"/meetings/{meeting}/minutes/items/{shared}",
            data={"_csrf_token": chair_token, "text": "Attendance is 84% this term."},
            headers=csrf(chair),
        )
        assert saved.status_code in (302, 303)
        done = await chair.post(
            f"/meetings/{meeting}/minutes/approve", data={"_csrf_token": chair_token}, headers=csrf(chair)
        )
        assert done.status_code in (302, 303)
        final = await member.get(f"/meetings/{meeting}/minutes")
        assert "These minutes are a draft" not in final.text
        assert "Attendance is 84% this term." in final.text
        assert 'id="correction-form"' not in final.text


async def test_a_correction_and_the_approval_never_cross(app: Litestar, runtime: Runtime, team: Team) -> None:
    """Corrections sent while the chair approves: each is either in before the approval (201) or
    refused because the minutes are approved (409); none lands in approved minutes."""
    meeting = await end_a_meeting(app, team, approve=False)
    base = f"/api/meetings/{meeting}/minutes"
    async with signed_in(app, team.chair) as chair, signed_in(app, team.member) as member:

        async def correct(n: int) -> int:
            response = await member.post(f"{base}/corrections", json={"text": f"Correction {n}"}, headers=csrf(member))
            return response.status_code

        async def approve() -> int:
            return (await chair.post(f"{base}/approve", headers=csrf(chair))).status_code

        answers = await asyncio.gather(*(correct(n) for n in range(6)), approve(), *(correct(n) for n in range(6, 12)))
    assert answers[6] == 200
    assert set(answers[:6] + answers[7:]) <= {201, 409}
    async with runtime.sessionmaker() as session:
        review = await session.get(MinutesReview, meeting)
        assert review is not None
        assert review.approved_at is not None
        created = list(
            await session.scalars(select(MinutesCorrection.created_at).where(MinutesCorrection.meeting_id == meeting))
        )
    assert len(created) == sum(1 for status in answers if status == 201)
    assert all(at <= review.approved_at for at in created)
