"""The JSON API's refusals carry a code beside the detail, so that an integration can tell one
409 (or 403, or 422) from another without reading the sentence meant for people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient, Response

from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import PASSWORD, Team, csrf, sign_in
from tests.test_api_cases import add_action, meeting_body


def refused(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status_code"] == status
    assert body["code"] == code, body
    assert body["detail"]
    return body


async def post(client: AsyncClient, path: str, body: object = None) -> Response:
    return await client.post(path, json=body or {}, headers=csrf(client))


async def patch(client: AsyncClient, path: str, body: object) -> Response:
    return await client.patch(path, json=body, headers=csrf(client))


async def test_people_refusals_say_which(client: AsyncClient, team: Team) -> None:
    await client.get("/sign-in")
    wrong = await post(client, "/api/session", {"email": team.member.email, "password": "not it at all"})
    refused(wrong, 422, "wrong_credentials")

    await sign_in(client, team.member)
    refused(await post(client, "/api/agencies", {"name": "New", "sector": "health"}), 403, "admin_only")
    change = {"current_password": "not it at all", "new_password": "a much longer new passphrase"}
    refused(await post(client, "/api/me/password", change), 422, "wrong_password")
    weak = await post(client, "/api/me/password", {"current_password": PASSWORD, "new_password": "short"})
    assert refused(weak, 422, "weak_password")["field"] == "new_password"

    await sign_in(client, team.family)
    refused(await client.get("/api/users"), 403, "professionals_only")

    await sign_in(client, team.admin)
    taken = await post(client, "/api/agencies", {"name": "School", "sector": "education"})
    refused(taken, 409, "agency_exists")
    person = {"email": team.member.email, "name": "Another Mo", "agency_id": str(team.member.agency_id)}
    assert refused(await post(client, "/api/users", person), 409, "email_taken")["field"] == "email"
    unknown = {**person, "email": "new@test.example", "agency_id": str(team.case.id)}
    refused(await post(client, "/api/users", unknown), 422, "unknown_agency")


async def test_team_refusals_say_which(client: AsyncClient, team: Team) -> None:
    members = f"/api/cases/{team.case.id}/members"
    await sign_in(client, team.member)
    refused(
        await post(client, members, {"user_id": str(team.outsider.id), "role": "professional"}), 403, "not_case_chair"
    )
    taken = {"reference": "T-1", "display_name": "Another", "lead_professional_id": str(team.member.id)}
    refused(await post(client, "/api/cases", taken), 409, "reference_taken")

    await sign_in(client, team.chair)
    again = await post(client, members, {"user_id": str(team.member.id), "role": "professional"})
    assert refused(again, 409, "already_member")["field"] == "user_id"
    family_as_professional = await post(client, members, {"user_id": str(team.family.id), "role": "chair"})
    refused(family_as_professional, 422, "role_not_for_sector")
    refused(await client.delete(f"{members}/{team.outsider.id}", headers=csrf(client)), 404, "not_on_team")
    refused(await client.delete(f"{members}/{team.lead.id}", headers=csrf(client)), 409, "is_lead_professional")
    refused(await client.delete(f"{members}/{team.chair.id}", headers=csrf(client)), 409, "last_chair")
    invite = {"email": team.member.email, "name": "Mo Member"}
    refused(await post(client, f"/api/cases/{team.case.id}/invitations", invite), 409, "professional_email")

    await sign_in(client, team.outsider)
    refused(await client.get(f"/api/cases/{team.case.id}"), 404, "not_found")


async def test_action_refusals_say_which(client: AsyncClient, runtime: Runtime, team: Team) -> None:
    action = f"/api/actions/{await add_action(runtime, team, 'Book a hearing test')}"
    past = (today_local() - timedelta(days=1)).isoformat()
    soon = (today_local() + timedelta(days=3)).isoformat()

    await sign_in(client, team.member)
    refused(await patch(client, action, {"due_date": soon, "reason": "Later"}), 403, "not_chair_or_lead")
    refused(await patch(client, action, {"snoozed_until": soon}), 422, "reason_required")
    assert (await patch(client, action, {"snoozed_until": soon, "reason": "On leave"})).status_code == 200
    refused(await patch(client, action, {"snoozed_until": soon, "reason": "Again"}), 409, "already_snoozed")

    await sign_in(client, team.chair)
    refused(await patch(client, action, {"due_date": past, "reason": "Oops"}), 422, "due_date_in_past")
    refused(await patch(client, action, {"acceptance": "accepted"}), 403, "not_owner")
    refused(await patch(client, action, {"owner_id": str(team.outsider.id), "reason": "Moved"}), 422, "not_on_team")
    refused(await patch(client, action, {}), 422, "nothing_to_change")
    refused(await client.get(f"/api/cases/{team.case.id}/actions?status=late"), 422, "unknown_status")


async def test_meeting_refusals_say_which(client: AsyncClient, team: Team) -> None:
    meeting, schedule = f"/api/meetings/{team.meeting.id}", f"/api/cases/{team.case.id}/meetings"
    await sign_in(client, team.chair)
    outsider_chair = meeting_body(team, chair_id=str(team.outsider.id))
    refused(await post(client, schedule, outsider_chair), 422, "chair_not_on_team")
    refused(await post(client, schedule, meeting_body(team, kind="party")), 422, "unknown_kind")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused(await patch(client, meeting, {"scheduled_at": past}), 422, "time_in_past")
    refused(await client.get(f"{meeting}/minutes"), 404, "minutes_not_issued")

    assert (await post(client, f"{meeting}/cancel")).status_code == 200
    refused(await post(client, f"{meeting}/cancel"), 409, "already_cancelled")
    later = meeting_body(team)
    started = (await post(client, schedule, later)).json()["id"]
    assert (await post(client, f"/api/meetings/{started}/start")).status_code == 200
    refused(await post(client, f"/api/meetings/{started}/cancel"), 409, "already_started")

    await sign_in(client, team.outsider)
    refused(await client.get(f"{meeting}/minutes"), 404, "not_found")
