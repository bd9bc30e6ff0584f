"""Reports before a meeting through the API and the meeting page: writing, replacing, withholding
with a reason, the family's view before and after share_on, the family's answers, the PDF, and
every refusal with its message (never a 500, never a lost report)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select, update

from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.meetings import room
from server.meetings import service as meetings
from server.meetings.models import Meeting
from server.meetings.room.agenda import NewItem
from server.platform.runtime import Runtime
from server.reports import service as reports
from server.reports.models import Report
from tests.support import Team, csrf, room_as, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def put(client: AsyncClient, path: str, body: object) -> object:
    return await client.put(path, json=body, headers=csrf(client))


async def as_user(client: AsyncClient, user: object) -> None:
    await client.delete("/api/session", headers=csrf(client))
    await sign_in(client, user)  # type: ignore[arg-type]


async def far_meeting(runtime: Runtime, team: Team, days: int = 40) -> uuid.UUID:
    async with runtime.sessionmaker() as session:
        meeting = await meetings.schedule_meeting(
            session,
            Actor(team.chair.id),
            team.chair,
            team.case.id,
            meetings.MeetingRequest(
                title="Review",
                kind="review_conference",
                scheduled_at=datetime.now(UTC) + timedelta(days=days),
                chair_id=team.chair.id,
            ),
        )
        return meeting.id


async def test_an_agency_writes_and_replaces_its_one_report(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    path = f"/api/meetings/{team.meeting.id}/reports"
    await sign_in(client, team.member)
    first = await client.put(
        f"{path}/mine", json={"text": "First draft", "share_with_family": True}, headers=csrf(client)
    )
    assert first.status_code == 200, first.text
    second = await client.put(
        f"{path}/mine", json={"text": "**Final**", "share_with_family": True}, headers=csrf(client)
    )
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    body = (await client.get(path)).json()
    assert set(body) >= {"due_on", "share_on", "expected", "missing", "reports"}
    assert [r["text"] for r in body["reports"]] == ["**Final**"]
    assert set(body["reports"][0]) >= {
        "id",
        "agency",
        "author",
        "submitted_at",
        "text",
        "share_with_family",
        "responses",
    }
    expected = {a["name"] for a in body["expected"]}
    assert expected == {team.member.agency.name, team.lead.agency.name}
    assert {a["name"] for a in body["missing"]} == {team.lead.agency.name}
    async with runtime.sessionmaker() as session:
        verbs = list((await session.scalars(select(AuditEvent.verb).where(AuditEvent.verb.like("report.%")))).all())
    assert verbs.count("report.write") == 2
    assert "report.view" in verbs


async def test_a_withheld_report_needs_a_reason_and_the_family_never_sees_it(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    path = f"/api/meetings/{team.meeting.id}/reports"
    await sign_in(client, team.lead)
    refused = await client.put(
        f"{path}/mine", json={"text": "Police intelligence", "share_with_family": False}, headers=csrf(client)
    )
    assert refused.status_code in (400, 422)
    assert refused.json()["field"] == "withheld_reason"
    ok = await client.put(
        f"{path}/mine",
        json={"text": "WITHHELD-SECRET detail", "share_with_family": False, "withheld_reason": "Risk to the child"},
        headers=csrf(client),
    )
    assert ok.status_code == 200, ok.text
    await as_user(client, team.chair)
    chair_view = (await client.get(path)).json()
    assert chair_view["reports"][0]["withheld_reason"] == "Risk to the child"
    page = await client.get(f"/meetings/{team.meeting.id}")
    assert "Risk to the child" in page.text
    assert "WITHHELD-SECRET" in page.text
    async with runtime.sessionmaker() as session:
        views = (await session.scalars(select(AuditEvent).where(AuditEvent.verb == "report.view"))).all()
    assert {event.detail.get("via") for event in views} >= {"api", "page"}
    await as_user(client, team.family)
    family_view = await client.get(path)
    assert family_view.status_code == 200
    assert "WITHHELD-SECRET" not in family_view.text
    assert family_view.json()["reports"] == []
    page = await client.get(f"/meetings/{team.meeting.id}")
    assert page.status_code == 200
    assert "WITHHELD-SECRET" not in page.text
    assert "Risk to the child" not in page.text


async def test_the_family_sees_shared_reports_only_from_share_on(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    far = await far_meeting(runtime, team)
    await sign_in(client, team.member)
    for meeting_id in (far, team.meeting.id):
        response = await client.put(
            f"/api/meetings/{meeting_id}/reports/mine", json={"text": f"SHARED-{meeting_id}"}, headers=csrf(client)
        )
        assert response.status_code == 200
    await as_user(client, team.family)
    later = await client.get(f"/api/meetings/{far}/reports")
    assert later.json()["reports"] == []
    assert f"SHARED-{far}" not in (await client.get(f"/meetings/{far}")).text
    soon = (await client.get(f"/api/meetings/{team.meeting.id}/reports")).json()
    assert [r["text"] for r in soon["reports"]] == [f"SHARED-{team.meeting.id}"]
    assert soon["reports"][0].get("withheld_reason") is None


async def test_the_family_writes_its_view_and_answers_a_report(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    path = f"/api/meetings/{team.meeting.id}/reports"
    await sign_in(client, team.member)
    report_id = (await client.put(f"{path}/mine", json={"text": "School report"}, headers=csrf(client))).json()["id"]
    answer = await client.post(f"{path}/{report_id}/responses", json={"agrees": True}, headers=csrf(client))
    assert answer.status_code == 403  # only the family answers
    await as_user(client, team.family)
    view = await client.put(f"{path}/mine", json={"text": "Our view", "share_with_family": False}, headers=csrf(client))
    assert view.status_code == 200, view.text
    assert view.json()["share_with_family"] is True  # the family's own view is never hidden from them
    refused = await client.post(f"{path}/{report_id}/responses", json={"agrees": False}, headers=csrf(client))
    assert refused.status_code in (400, 422)
    assert refused.json()["code"] == "disagree_without_reason"
    answer = await client.post(
        f"{path}/{report_id}/responses", json={"agrees": False, "text": "The date is wrong"}, headers=csrf(client)
    )
    assert answer.status_code == 201, answer.text
    missing = await client.post(f"{path}/{uuid.uuid4()}/responses", json={"agrees": True}, headers=csrf(client))
    assert missing.status_code == 404
    await as_user(client, team.chair)
    reports = {r["agency"]["name"]: r for r in (await client.get(path)).json()["reports"]}
    assert reports[team.member.agency.name]["responses"][0]["text"] == "The date is wrong"
    assert reports[team.family.agency.name]["text"] == "Our view"


async def test_no_report_after_the_meeting_has_started_and_none_is_lost(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    path = f"/api/meetings/{team.meeting.id}/reports/mine"
    await sign_in(client, team.member)
    assert (await client.put(path, json={"text": "Kept"}, headers=csrf(client))).status_code == 200
    assert (await client.put(path, json={"text": "   "}, headers=csrf(client))).status_code in (400, 422)
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(update(Meeting).where(Meeting.id == team.meeting.id).values(status="live"))
    late = await client.put(path, json={"text": "Too late"}, headers=csrf(client))
    assert late.status_code == 409
    assert late.json()["code"] == "meeting_started"
    async with runtime.sessionmaker() as session:
        assert (await session.scalars(select(Report.text))).all() == ["Kept"]
    await as_user(client, team.outsider)
    assert (await client.get(f"/api/meetings/{team.meeting.id}/reports")).status_code == 404


async def test_a_pdf_is_checked_stored_and_served_to_those_who_may_see_it(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    path = f"/api/meetings/{team.meeting.id}/reports/mine"
    await sign_in(client, team.lead)
    no_report = await client.put(f"{path}/pdf", content=PDF, headers=csrf(client))
    assert no_report.status_code in (400, 422)
    await client.put(
        path, json={"text": "See PDF", "share_with_family": False, "withheld_reason": "Safety"}, headers=csrf(client)
    )
    not_pdf = await client.put(f"{path}/pdf", content=b"<html>hi</html>", headers=csrf(client))
    assert not_pdf.status_code in (400, 422)
    assert not_pdf.json()["code"] == "not_a_pdf"
    big = PDF[:-6] + b"0" * (10 * 1024 * 1024) + b"%%EOF\n"
    too_big = await client.put(f"{path}/pdf", content=big, headers=csrf(client))
    assert too_big.status_code in (400, 413, 422)
    ok = await client.put(f"{path}/pdf", content=PDF, headers={**csrf(client), "x-filename": "health.pdf"})
    assert ok.status_code == 200, ok.text
    url = ok.json()["pdf"]["url"]
    await as_user(client, team.member)
    download = await client.get(url)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    await as_user(client, team.family)
    assert (await client.get(url)).status_code == 404  # withheld: the family cannot fetch its file
    async with runtime.sessionmaker() as session:
        reads = (await session.scalars(select(AuditEvent).where(AuditEvent.verb == "report.pdf.view"))).all()
    assert len(reads) == 1


async def test_the_meeting_page_form_writes_the_report_and_shows_problems(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    await sign_in(client, team.member)
    page = await client.get(f"/meetings/{team.meeting.id}")
    assert "Your agency\u2019s report" in page.text
    token = client.cookies.get("csrftoken") or ""
    refused = await client.post(
        f"/meetings/{team.meeting.id}/reports/mine",
        data={"_csrf_token": token, "text": "Page report", "withhold": "true"},
        files={"pdf": ("x.pdf", b"not a pdf", "application/pdf")},
    )
    assert refused.status_code == 422
    assert "Say why the family should not read this report" in refused.text
    assert "The file is not a PDF" in refused.text
    assert "Page report" in refused.text  # what was typed is kept
    sent = await client.post(
        f"/meetings/{team.meeting.id}/reports/mine",
        data={"_csrf_token": token, "text": "Page report"},
        files={"pdf": ("report.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    async with runtime.sessionmaker() as session:
        report = (await session.scalars(select(Report))).one()
        assert report.pdf_name == "report.pdf"
        assert report.share_with_family
    await as_user(client, team.family)
    token = client.cookies.get("csrftoken") or ""
    page = await client.get(f"/meetings/{team.meeting.id}")
    assert "Page report" in page.text
    answered = await client.post(
        f"/meetings/{team.meeting.id}/reports/{report.id}/responses", data={"_csrf_token": token, "agrees": "yes"}
    )
    assert answered.status_code == 303


async def test_the_room_shows_an_absent_agency_that_sent_a_report(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    async with runtime.sessionmaker() as session:
        await reports.write_mine(
            session, runtime.settings, Actor(team.lead.id), team.lead, team.meeting.id, reports.ReportInput("Health")
        )
        chair = room_as(runtime, session, team.chair)
        await chair.run(room.start, team.meeting.id)
        item = await chair.run(room.add_item, team.meeting.id, NewItem("Health"))
        await chair.run(room.open_item, team.meeting.id, target=item.id)
        await room_as(runtime, session, team.member).run(room.join, team.meeting.id)
    await sign_in(client, team.member)
    page = await client.get(f"/meetings/{team.meeting.id}/room")
    assert page.status_code == 200
    assert "Not yet heard on this item" in page.text
    assert "Sent a report</span> Health visiting" in page.text  # the lead's agency is not here
