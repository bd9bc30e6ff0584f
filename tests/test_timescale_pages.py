"""The pages of the timescales and the team: the case page's milestones (state in words), the
chair's forms for the lead professional and roles, My cases flagging what is due, and the
schedule form proposing the next milestone's kind and latest date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select

from server.actions.chase import add_working_days
from server.cases.models import Case, CaseMember
from server.meetings.models import Meeting
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import Team, csrf, sign_in


async def strategy_ended(runtime: Runtime, team: Team, working_days_ago: int) -> None:
    ended_day = add_working_days(today_local(), -working_days_ago, runtime.settings.chase)
    ended = datetime.combine(ended_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
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


async def test_the_case_page_shows_milestones_in_words(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    await strategy_ended(runtime, team, 20)  # due 5 working days ago: overdue
    await sign_in(client, team.member)
    page = await client.get(f"/cases/{team.case.id}")
    assert page.status_code == 200
    assert "Statutory timescales" in page.text
    assert "Initial child protection conference" in page.text
    assert 'class="tag tag--ms-overdue">Overdue</strong>' in page.text
    assert "Change the case" not in page.text  # only the chair changes it


async def test_my_cases_flags_due_soon_and_overdue_for_chairs_and_leads(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    await strategy_ended(runtime, team, 12)  # due in 3 working days: due soon
    for person, flagged in ((team.chair, True), (team.lead, True), (team.member, False)):
        await sign_in(client, person)
        home = await client.get("/")
        assert ("Statutory timescales needing attention" in home.text) is flagged, person.name
        if flagged:
            assert "Due soon" in home.text
        await client.delete("/api/session", headers=csrf(client))


async def test_the_schedule_form_proposes_the_next_milestone(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    await strategy_ended(runtime, team, 12)
    due = add_working_days(today_local(), 3, runtime.settings.chase)
    await sign_in(client, team.chair)
    form = await client.get(f"/cases/{team.case.id}/meetings/new")
    assert form.status_code == 200
    assert "The next statutory milestone" in form.text
    assert '<option value="initial_conference" selected' in form.text
    assert f'value="{due.isoformat()}T10:00"' in form.text


async def test_the_chair_changes_the_lead_and_a_role_from_the_case_page(
    client: AsyncClient, runtime: Runtime, team: Team
) -> None:
    await sign_in(client, team.chair)
    page = await client.get(f"/cases/{team.case.id}")
    assert "Change the case" in page.text
    token = client.cookies.get("csrftoken") or ""
    refused = await client.post(
        f"/cases/{team.case.id}/details",
        data={"_csrf_token": token, "display_name": "Child T.", "lead_professional_id": str(team.family.id)},
    )
    assert refused.status_code == 422
    assert "Choose a professional on this case" in refused.text
    done = await client.post(
        f"/cases/{team.case.id}/details",
        data={"_csrf_token": token, "display_name": "Child T.", "lead_professional_id": str(team.member.id)},
    )
    assert done.status_code == 303
    role = await client.post(
        f"/cases/{team.case.id}/members/{team.lead.id}/role", data={"_csrf_token": token, "role": "chair"}
    )
    assert role.status_code == 303
    async with runtime.sessionmaker() as session:
        case = await session.get(Case, team.case.id)
        assert case is not None
        assert case.lead_professional_id == team.member.id
        roles = dict((await session.execute(select(CaseMember.user_id, CaseMember.role))).all())
        assert roles[team.lead.id] == "chair"
