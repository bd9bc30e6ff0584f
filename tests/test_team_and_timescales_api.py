"""PATCH /api/cases/{id}, PATCH /api/cases/{id}/members/{user_id} and GET /api/cases/{id}/timescales,
with their error cases, notifications and audit rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from httpx import AsyncClient
from sqlalchemy import select

from server.actions.chase import add_working_days
from server.audit.models import AuditEvent
from server.cases.models import Case, CaseMember
from server.meetings.models import Meeting
from server.notify.models import Notification, OutboxMessage
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import Team, csrf, sign_in


async def test_the_chair_names_another_lead_and_both_leads_are_told(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    await sign_in(client, team.chair)
    response = await client.patch(
        f"/api/cases/{team.case.id}",
        json={"lead_professional_id": str(team.member.id), "display_name": "Child T. (renamed)"},
        headers=csrf(client),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lead_professional_id"] == str(team.member.id)
    assert body["display_name"] == "Child T. (renamed)"
    async with runtime.sessionmaker() as session:
        notes = (await session.scalars(select(Notification).where(Notification.kind == "lead_professional"))).all()
        assert {n.user_id for n in notes} == {team.member.id, team.lead.id}
        mail = (await session.scalars(select(OutboxMessage))).all()
        recipients = " ".join(m.recipients for m in mail)
        assert team.member.email in recipients
        assert team.lead.email in recipients
        assert all(b"Child T." not in m.message for m in mail)  # the e-mail links, it names no child
        verbs = set((await session.scalars(select(AuditEvent.verb))).all())
        assert {"case.lead.change", "case.rename"} <= verbs


async def test_a_lead_must_be_a_professional_on_the_team(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    await sign_in(client, team.chair)
    for who in (team.family, team.outsider):
        response = await client.patch(
            f"/api/cases/{team.case.id}", json={"lead_professional_id": str(who.id)}, headers=csrf(client)
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["field"] == "lead_professional_id" or "lead" in response.json()["detail"]
    response = await client.patch(f"/api/cases/{team.case.id}", json={"display_name": "   "}, headers=csrf(client))
    assert response.status_code in (400, 422)
    async with runtime.sessionmaker() as session:
        case = await session.get(Case, team.case.id)
        assert case is not None
        assert case.lead_professional_id == team.lead.id
        assert case.display_name == "Child T."


async def test_only_the_chair_or_an_admin_changes_the_case(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    response = await client.patch(f"/api/cases/{team.case.id}", json={"display_name": "X"}, headers=csrf(client))
    assert response.status_code == 403
    response = await client.patch(
        f"/api/cases/{team.case.id}/members/{team.member.id}", json={"role": "chair"}, headers=csrf(client)
    )
    assert response.status_code == 403
    await client.delete("/api/session", headers=csrf(client))
    await sign_in(client, team.outsider)
    response = await client.patch(f"/api/cases/{team.case.id}", json={"display_name": "X"}, headers=csrf(client))
    assert response.status_code == 404


async def test_roles_change_and_a_family_member_stays_family(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    await sign_in(client, team.chair)
    base = f"/api/cases/{team.case.id}/members"
    response = await client.patch(f"{base}/{team.member.id}", json={"role": "chair"}, headers=csrf(client))
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "chair"
    response = await client.patch(f"{base}/{team.family.id}", json={"role": "professional"}, headers=csrf(client))
    assert response.status_code in (400, 422)
    assert response.json()["code"] == "family_stays_family"
    response = await client.patch(f"{base}/{team.member.id}", json={"role": "family"}, headers=csrf(client))
    assert response.status_code in (400, 422)
    response = await client.patch(f"{base}/{team.member.id}", json={"role": "boss"}, headers=csrf(client))
    assert response.status_code in (400, 422)
    response = await client.patch(f"{base}/{team.outsider.id}", json={"role": "chair"}, headers=csrf(client))
    assert response.status_code == 404
    async with runtime.sessionmaker() as session:
        member = await session.get(CaseMember, (team.case.id, team.member.id))
        assert member is not None
        assert member.role == "chair"
        rows = (await session.scalars(select(AuditEvent).where(AuditEvent.verb == "case.member.role"))).all()
        assert len(rows) == 1


async def test_the_last_chair_cannot_step_down(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    response = await client.patch(
        f"/api/cases/{team.case.id}/members/{team.chair.id}", json={"role": "professional"}, headers=csrf(client)
    )
    assert response.status_code == 409


async def test_timescales_answer_the_contract(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    ended = datetime.now(UTC) - timedelta(days=1)
    async with runtime.sessionmaker() as session, session.begin():
        session.add(
            Meeting(
                case_id=team.case.id,
                title="Strategy",
                kind="strategy",
                scheduled_at=ended - timedelta(hours=1),
                chair_id=team.chair.id,
                status="ended",
                started_at=ended - timedelta(hours=1),
                ended_at=ended,
            )
        )
    await sign_in(client, team.member)
    response = await client.get(f"/api/cases/{team.case.id}/timescales")
    assert response.status_code == 200, response.text
    milestones = response.json()["milestones"]
    kinds = {m["kind"]: m for m in milestones}
    icpc = kinds["initial_conference"]
    held = ended.astimezone(ZoneInfo(runtime.settings.chase.timezone))
    assert icpc["due_on"] == add_working_days(held.date(), 15, runtime.settings.chase).isoformat()
    assert icpc["state"] == "upcoming"
    assert icpc["meeting_id"] is None
    assert icpc["held_on"] is None
    assert set(icpc) == {"kind", "due_on", "meeting_id", "held_on", "state"}
    assert today_local() < datetime.fromisoformat(icpc["due_on"]).date()
    await client.delete("/api/session", headers=csrf(client))
    await sign_in(client, team.outsider)
    assert (await client.get(f"/api/cases/{team.case.id}/timescales")).status_code == 404
