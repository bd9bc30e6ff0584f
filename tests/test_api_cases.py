"""The cases API: opening cases, building the team, the action plan, and scheduling meetings,
with need-to-know visibility (a case you may not see is indistinguishable from none)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select

from server.actions.models import Action
from server.meetings.models import AgendaItem
from server.people.models import User
from server.platform.runtime import Runtime
from tests.support import Team, csrf, sign_in

ACTION_REVIEW = "Review of actions from the last meeting"


def error_body(response: Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, response.text
    body = response.json()
    assert body["status_code"] == response.status_code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body  # type: ignore[no-any-return]


async def post(client: AsyncClient, path: str, body: object) -> Response:
    return await client.post(path, json=body, headers=csrf(client))


async def add_action(
    runtime: Runtime,
    team: Team,
    title: str,
    *,
    status: str = "open",
    due: date | None = None,
    owner: User | None = None,
    professionals_only: bool = False,
) -> uuid.UUID:
    owner = owner or team.member
    async with runtime.sessionmaker() as session, session.begin():
        action = Action(
            case_id=team.case.id,
            title=title,
            owner_id=owner.id,
            agency_id=owner.agency_id,
            due_date=due or date.today() + timedelta(days=14),
            outcome_area="staying_safe",
            status=status,
            professionals_only=professionals_only,
        )
        session.add(action)
        await session.flush()
        return action.id


def meeting_body(team: Team, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "Review TAC",
        "kind": "tac",
        "scheduled_at": (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0).isoformat(),
        "chair_id": str(team.chair.id),
    }
    body.update(changes)
    return body


async def agenda_titles(runtime: Runtime, meeting_id: str) -> list[str]:
    async with runtime.sessionmaker() as session:
        items = await session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == uuid.UUID(meeting_id))
            .order_by(AgendaItem.position, AgendaItem.created_at)
        )
        return [item.title for item in items]


# --- listing and opening cases --------------------------------------------------------------


async def test_cases_need_sign_in(client: AsyncClient, team: Team) -> None:
    error_body(await client.get("/api/cases"), 401)
    error_body(await client.get(f"/api/cases/{team.case.id}"), 401)
    error_body(await client.get(f"/api/cases/{team.case.id}/actions"), 401)
    error_body(await client.get(f"/api/cases/{team.case.id}/meetings"), 401)


async def test_list_cases_shows_only_my_cases(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    cases = (await client.get("/api/cases")).json()
    assert [c["id"] for c in cases] == [str(team.case.id)]
    assert cases[0]["my_role"] == "professional"
    assert cases[0]["reference"] == "T-1"
    assert cases[0]["display_name"] == "Child T."
    assert cases[0]["lead_professional_id"] == str(team.lead.id)

    await sign_in(client, team.family)
    cases = (await client.get("/api/cases")).json()
    assert [(c["id"], c["my_role"]) for c in cases] == [(str(team.case.id), "family")]

    await sign_in(client, team.outsider)
    assert (await client.get("/api/cases")).json() == []

    await sign_in(client, team.admin)
    cases = (await client.get("/api/cases")).json()
    assert [(c["id"], c["my_role"]) for c in cases] == [(str(team.case.id), None)]


async def test_professional_who_opens_a_case_becomes_its_chair(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.outsider)
    response = await post(
        client,
        "/api/cases",
        {"reference": "P-7", "display_name": "Child P.", "lead_professional_id": str(team.lead.id)},
    )
    assert response.status_code == 201, response.text
    case = response.json()
    uuid.UUID(case["id"])
    assert case["reference"] == "P-7"
    assert case["display_name"] == "Child P."
    assert case["lead_professional_id"] == str(team.lead.id)
    assert case["lead_professional"]["name"] == "Lee Lead"
    assert case["my_role"] == "chair"
    roles = {m["user_id"]: m["role"] for m in case["members"]}
    assert roles == {str(team.outsider.id): "chair", str(team.lead.id): "professional"}

    listed = (await client.get("/api/cases")).json()
    assert [(c["id"], c["my_role"]) for c in listed] == [(case["id"], "chair")]
    fetched = await client.get(f"/api/cases/{case['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["my_role"] == "chair"


async def test_professional_can_be_their_own_lead(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.outsider)
    response = await post(
        client,
        "/api/cases",
        {
            "reference": "P-8",
            "display_name": "Child Q.",
            "lead_professional_id": str(team.outsider.id),
        },
    )
    assert response.status_code == 201, response.text
    assert [(m["user_id"], m["role"]) for m in response.json()["members"]] == [(str(team.outsider.id), "chair")]


async def test_admin_opens_a_case_without_joining_it(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    response = await post(
        client,
        "/api/cases",
        {"reference": "A-1", "display_name": "Child A.", "lead_professional_id": str(team.lead.id)},
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["my_role"] is None
    assert {(m["user_id"], m["role"]) for m in case["members"]} == {(str(team.lead.id), "professional")}


async def test_family_member_cannot_open_a_case(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.family)
    response = await post(
        client,
        "/api/cases",
        {"reference": "F-1", "display_name": "Child F.", "lead_professional_id": str(team.lead.id)},
    )
    error_body(response, 403)
    await sign_in(client, team.admin)
    assert [c["reference"] for c in (await client.get("/api/cases")).json()] == ["T-1"]


async def test_duplicate_reference_is_409(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    response = await post(
        client,
        "/api/cases",
        {"reference": "T-1", "display_name": "Again", "lead_professional_id": str(team.lead.id)},
    )
    error_body(response, 409)
    response = await post(
        client,
        "/api/cases",
        {"reference": " T-1 ", "display_name": "Again", "lead_professional_id": str(team.lead.id)},
    )
    error_body(response, 409)


async def test_lead_must_be_a_professional(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    for lead in (team.family.id, uuid.uuid4()):
        response = await post(
            client,
            "/api/cases",
            {"reference": "L-1", "display_name": "Child L.", "lead_professional_id": str(lead)},
        )
        error_body(response, 422)
    for body in (
        {"reference": "", "display_name": "X", "lead_professional_id": str(team.lead.id)},
        {"reference": "L-2", "display_name": "  ", "lead_professional_id": str(team.lead.id)},
        {"reference": "L-3", "display_name": "X", "lead_professional_id": "nope"},
        {"reference": "L-4", "display_name": "X"},
    ):
        error_body(await post(client, "/api/cases", body), 400, 422)
    assert [c["reference"] for c in (await client.get("/api/cases")).json()] == ["T-1"]


# --- one case -------------------------------------------------------------------------------


async def test_members_see_the_case(client: AsyncClient, team: Team) -> None:
    for who, role in (
        (team.chair, "chair"),
        (team.member, "professional"),
        (team.lead, "professional"),
        (team.family, "family"),
    ):
        await sign_in(client, who)
        response = await client.get(f"/api/cases/{team.case.id}")
        assert response.status_code == 200, response.text
        case = response.json()
        assert case["my_role"] == role
        assert {m["user_id"] for m in case["members"]} == {
            str(u.id) for u in (team.chair, team.member, team.lead, team.family)
        }
        for member in case["members"]:
            assert "email" not in member["user"]


async def test_outsider_404_is_indistinguishable_from_no_case(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.outsider)
    hidden = await client.get(f"/api/cases/{team.case.id}")
    missing = await client.get(f"/api/cases/{uuid.uuid4()}")
    error_body(hidden, 404)
    assert hidden.status_code == missing.status_code
    assert hidden.json() == missing.json()
    assert hidden.headers["content-type"] == missing.headers["content-type"]


async def test_admin_off_the_team_sees_the_record(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    response = await client.get(f"/api/cases/{team.case.id}")
    assert response.status_code == 200
    assert response.json()["my_role"] is None


# --- the team -------------------------------------------------------------------------------


async def test_chair_adds_and_removes_members(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    path = f"/api/cases/{team.case.id}/members"
    response = await post(client, path, {"user_id": str(team.outsider.id), "role": "professional"})
    assert response.status_code == 201, response.text
    member = response.json()
    assert member["user_id"] == str(team.outsider.id)
    assert member["role"] == "professional"
    assert member["user"]["name"] == "Olly Outsider"

    await sign_in(client, team.outsider)
    assert (await client.get(f"/api/cases/{team.case.id}")).status_code == 200

    await sign_in(client, team.chair)
    removed = await client.delete(f"{path}/{team.outsider.id}", headers=csrf(client))
    assert removed.status_code == 200, removed.text
    case = (await client.get(f"/api/cases/{team.case.id}")).json()
    assert str(team.outsider.id) not in {m["user_id"] for m in case["members"]}

    await sign_in(client, team.outsider)
    error_body(await client.get(f"/api/cases/{team.case.id}"), 404)
    assert (await client.get("/api/cases")).json() == []


async def test_admin_manages_the_team_without_being_on_it(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    path = f"/api/cases/{team.case.id}/members"
    response = await post(client, path, {"user_id": str(team.outsider.id), "role": "chair"})
    assert response.status_code == 201, response.text
    removed = await client.delete(f"{path}/{team.member.id}", headers=csrf(client))
    assert removed.status_code == 200, removed.text
    await sign_in(client, team.member)
    error_body(await client.get(f"/api/cases/{team.case.id}"), 404)


async def test_member_cannot_change_the_team(client: AsyncClient, team: Team) -> None:
    path = f"/api/cases/{team.case.id}/members"
    for who in (team.member, team.lead, team.family):
        await sign_in(client, who)
        response = await post(client, path, {"user_id": str(team.outsider.id), "role": "professional"})
        error_body(response, 403)
        error_body(await client.delete(f"{path}/{team.family.id}", headers=csrf(client)), 403)
    await sign_in(client, team.chair)
    case = (await client.get(f"/api/cases/{team.case.id}")).json()
    ids = {m["user_id"] for m in case["members"]}
    assert str(team.outsider.id) not in ids
    assert str(team.family.id) in ids


async def test_outsider_changing_the_team_gets_404(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.outsider)
    path = f"/api/cases/{team.case.id}/members"
    hidden = await post(client, path, {"user_id": str(team.outsider.id), "role": "professional"})
    missing = await post(
        client,
        f"/api/cases/{uuid.uuid4()}/members",
        {"user_id": str(team.outsider.id), "role": "professional"},
    )
    error_body(hidden, 404)
    assert hidden.json() == missing.json()
    error_body(await client.delete(f"{path}/{team.member.id}", headers=csrf(client)), 404)


async def test_roles_must_fit_the_sector(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    await sign_in(client, team.admin)
    parent = await post(
        client,
        "/api/users",
        {
            "email": "second.parent@test.example",
            "name": "Sam Smith",
            "agency_id": str(team.family.agency_id),
            "password": "a perfectly fine passphrase",
        },
    )
    assert parent.status_code == 201, parent.text
    parent_id = parent.json()["id"]

    await sign_in(client, team.chair)
    path = f"/api/cases/{team.case.id}/members"
    for user_id, role in (
        (str(team.outsider.id), "family"),
        (parent_id, "professional"),
        (parent_id, "chair"),
    ):
        error_body(await post(client, path, {"user_id": user_id, "role": role}), 422)
    error_body(await post(client, path, {"user_id": parent_id, "role": "boss"}), 400, 422)
    error_body(await post(client, path, {"user_id": str(uuid.uuid4()), "role": "family"}), 422)
    ok = await post(client, path, {"user_id": parent_id, "role": "family"})
    assert ok.status_code == 201, ok.text


async def test_adding_twice_is_409(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    path = f"/api/cases/{team.case.id}/members"
    error_body(await post(client, path, {"user_id": str(team.member.id), "role": "chair"}), 409)
    error_body(await post(client, path, {"user_id": str(team.family.id), "role": "family"}), 409)


async def test_lead_professional_cannot_be_removed(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    response = await client.delete(f"/api/cases/{team.case.id}/members/{team.lead.id}", headers=csrf(client))
    error_body(response, 409)
    await sign_in(client, team.lead)
    assert (await client.get(f"/api/cases/{team.case.id}")).status_code == 200


async def test_removing_someone_not_on_the_team_is_404(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    response = await client.delete(f"/api/cases/{team.case.id}/members/{team.outsider.id}", headers=csrf(client))
    error_body(response, 404)


# --- the action plan ------------------------------------------------------------------------


async def test_action_filters(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    today = date.today()
    future = await add_action(runtime, team, "Book a health review", due=today + timedelta(days=5))
    late = await add_action(runtime, team, "Send the school report", status="in_progress", due=today - timedelta(10))
    blocked = await add_action(runtime, team, "Arrange respite", status="blocked", due=today - timedelta(3))
    done = await add_action(runtime, team, "Referral to CAMHS", status="done", due=today - timedelta(days=20))
    cancelled = await add_action(runtime, team, "Old idea", status="cancelled", due=today)

    await sign_in(client, team.member)
    path = f"/api/cases/{team.case.id}/actions"

    async def ids(query: str) -> set[str]:
        response = await client.get(path + query)
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()}

    assert await ids("") == {str(a) for a in (future, late, blocked, done, cancelled)}
    assert await ids("?status=open") == {str(future), str(late), str(blocked)}
    assert await ids("?status=overdue") == {str(late), str(blocked)}
    assert await ids("?status=done") == {str(done)}

    listed = {a["id"]: a for a in (await client.get(path)).json()}
    assert listed[str(late)]["overdue"] is True
    assert listed[str(future)]["overdue"] is False
    assert listed[str(done)]["overdue"] is False
    assert listed[str(late)]["owner_id"] == str(team.member.id)
    assert listed[str(late)]["title"] == "Send the school report"


async def test_bad_action_filter(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    for bad in ("closed", "OPEN", "", "open,done"):
        response = await client.get(f"/api/cases/{team.case.id}/actions", params={"status": bad})
        if bad == "":
            assert response.status_code in (200, 400, 422), response.text
            continue
        error_body(response, 400, 422)


async def test_family_does_not_see_professionals_only_actions(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    shared = await add_action(runtime, team, "Shared action")
    private = await add_action(runtime, team, "Private action", professionals_only=True)
    await sign_in(client, team.family)
    seen = {a["id"] for a in (await client.get(f"/api/cases/{team.case.id}/actions")).json()}
    assert seen == {str(shared)}
    await sign_in(client, team.member)
    seen = {a["id"] for a in (await client.get(f"/api/cases/{team.case.id}/actions")).json()}
    assert seen == {str(shared), str(private)}


async def test_actions_hidden_from_outsider_and_admin_off_the_team(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await add_action(runtime, team, "Something confidential")
    missing_path = f"/api/cases/{uuid.uuid4()}/actions"
    for who in (team.outsider, team.admin):
        await sign_in(client, who)
        hidden = await client.get(f"/api/cases/{team.case.id}/actions")
        error_body(hidden, 404)
        assert "confidential" not in hidden.text
        assert hidden.json() == (await client.get(missing_path)).json()


# --- meetings -------------------------------------------------------------------------------


async def test_members_list_meetings(client: AsyncClient, team: Team) -> None:
    for who in (team.member, team.family, team.admin):
        await sign_in(client, who)
        response = await client.get(f"/api/cases/{team.case.id}/meetings")
        assert response.status_code == 200, response.text
        meetings = response.json()
        assert [m["id"] for m in meetings] == [str(team.meeting.id)]
        assert meetings[0]["title"] == "TAC meeting"
        assert meetings[0]["status"] == "scheduled"
    await sign_in(client, team.outsider)
    error_body(await client.get(f"/api/cases/{team.case.id}/meetings"), 404)


async def test_chair_schedules_a_meeting(client: AsyncClient, team: Team, runtime: Runtime) -> None:
    await sign_in(client, team.chair)
    when = datetime(2031, 3, 4, 10, 30, tzinfo=UTC)
    response = await post(
        client,
        f"/api/cases/{team.case.id}/meetings",
        meeting_body(
            team,
            title="Core group",
            kind="core_group",
            scheduled_at=when.isoformat(),
            turn_limit_seconds=180,
        ),
    )
    assert response.status_code == 201, response.text
    meeting = response.json()
    uuid.UUID(meeting["id"])
    assert meeting["case_id"] == str(team.case.id)
    assert meeting["title"] == "Core group"
    assert meeting["kind"] == "core_group"
    assert meeting["status"] == "scheduled"
    assert meeting["chair_id"] == str(team.chair.id)
    assert meeting["chair"]["name"] == "Chris Chair"
    assert meeting["turn_limit_seconds"] == 180
    assert datetime.fromisoformat(meeting["scheduled_at"]) == when
    # No open actions: no review item.
    assert await agenda_titles(runtime, meeting["id"]) == []

    listed = (await client.get(f"/api/cases/{team.case.id}/meetings")).json()
    assert meeting["id"] in {m["id"] for m in listed}


async def test_admin_schedules_a_meeting(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.admin)
    response = await post(
        client,
        f"/api/cases/{team.case.id}/meetings",
        meeting_body(team, chair_id=str(team.member.id)),
    )
    assert response.status_code == 201, response.text
    assert response.json()["chair_id"] == str(team.member.id)


async def test_member_cannot_schedule(client: AsyncClient, team: Team) -> None:
    for who in (team.member, team.lead, team.family):
        await sign_in(client, who)
        response = await post(client, f"/api/cases/{team.case.id}/meetings", meeting_body(team))
        error_body(response, 403)
    await sign_in(client, team.chair)
    assert len((await client.get(f"/api/cases/{team.case.id}/meetings")).json()) == 1


async def test_outsider_cannot_schedule(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.outsider)
    hidden = await post(client, f"/api/cases/{team.case.id}/meetings", meeting_body(team))
    missing = await post(client, f"/api/cases/{uuid.uuid4()}/meetings", meeting_body(team))
    error_body(hidden, 404)
    assert hidden.json() == missing.json()


@pytest.mark.parametrize(
    "changes",
    [
        {"scheduled_at": "2031-03-04T10:30:00"},
        {"kind": "party"},
        {"kind": ""},
        {"turn_limit_seconds": 0},
        {"turn_limit_seconds": -5},
        {"turn_limit_seconds": 3601},
        {"turn_limit_seconds": 10**9},
        {"title": "   "},
        {"duration_minutes": 0},
        {"duration_minutes": 100000},
    ],
    ids=lambda c: next(iter(c)) + "=" + str(next(iter(c.values())))[:20],
)
async def test_bad_meeting_requests_are_422(client: AsyncClient, team: Team, changes: dict[str, object]) -> None:
    await sign_in(client, team.chair)
    response = await post(client, f"/api/cases/{team.case.id}/meetings", meeting_body(team, **changes))
    error_body(response, 422)


async def test_meeting_chair_must_be_a_professional_on_the_team(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    for chair in (team.outsider.id, team.family.id, team.admin.id, uuid.uuid4()):
        response = await post(
            client,
            f"/api/cases/{team.case.id}/meetings",
            meeting_body(team, chair_id=str(chair)),
        )
        error_body(response, 422)
    assert len((await client.get(f"/api/cases/{team.case.id}/meetings")).json()) == 1


async def test_malformed_meeting_bodies(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    path = f"/api/cases/{team.case.id}/meetings"
    for body in (
        meeting_body(team, scheduled_at="next tuesday"),
        meeting_body(team, chair_id="chris"),
        meeting_body(team, turn_limit_seconds="a minute"),
        {"title": "No time"},
    ):
        error_body(await post(client, path, body), 400, 422)


async def test_open_actions_put_their_review_first_on_the_agenda(
    client: AsyncClient, team: Team, runtime: Runtime
) -> None:
    await add_action(runtime, team, "Done already", status="done")
    await sign_in(client, team.chair)
    path = f"/api/cases/{team.case.id}/meetings"
    without = await post(client, path, meeting_body(team, title="Before"))
    assert without.status_code == 201, without.text
    assert ACTION_REVIEW not in await agenda_titles(runtime, without.json()["id"])  # only the child's voice

    await add_action(runtime, team, "Still open", status="in_progress")
    with_review = await post(client, path, meeting_body(team, title="After"))
    assert with_review.status_code == 201, with_review.text
    assert (await agenda_titles(runtime, with_review.json()["id"]))[:1] == [ACTION_REVIEW]


# --- the same change at the same moment -----------------------------------------------------


async def test_concurrent_duplicate_case_is_409_not_500(client: AsyncClient, team: Team) -> None:
    """Two chairs opening the same reference at once: one case, the rest clear conflicts."""
    await sign_in(client, team.chair)
    for round_ in range(3):
        body = {
            "reference": f"RACE-{round_}",
            "display_name": "Child R.",
            "lead_professional_id": str(team.lead.id),
        }
        answers = await asyncio.gather(*(post(client, "/api/cases", body) for _ in range(6)))
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [a.text for a in answers]
    references = [c["reference"] for c in (await client.get("/api/cases")).json()]
    assert sorted(references) == ["RACE-0", "RACE-1", "RACE-2", "T-1"]


async def test_concurrent_duplicate_member_is_409_not_500(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.chair)
    path = f"/api/cases/{team.case.id}/members"
    for who in (team.outsider, team.admin):
        body = {"user_id": str(who.id), "role": "professional"}
        answers = await asyncio.gather(*(post(client, path, body) for _ in range(6)))
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [a.text for a in answers]
