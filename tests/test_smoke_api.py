"""A first end-to-end pass over the people-and-cases API."""

from __future__ import annotations

from httpx import AsyncClient

from tests.support import Team, csrf, sign_in


async def test_member_sees_case_outsider_gets_404(client: AsyncClient, team: Team) -> None:
    await sign_in(client, team.member)
    response = await client.get(f"/api/cases/{team.case.id}")
    assert response.status_code == 200
    assert {m["user"]["name"] for m in response.json()["members"]} >= {"Mo Member", "Fran Smith"}

    await client.delete("/api/session", headers=csrf(client))
    await sign_in(client, team.outsider)
    response = await client.get(f"/api/cases/{team.case.id}")
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "No such case.", "code": "not_found"}
