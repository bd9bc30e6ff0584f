"""Notifications and action changes reach a person's open pages live (/ws/me)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import websockets

from server.timeutil import today_local
from tests.live_support import Participant
from tests.support import Team


async def _inbox(person: Participant) -> websockets.ClientConnection:
    url = person.base_url.replace("http://", "ws://") + "/ws/me"
    return await websockets.connect(
        url, additional_headers={"Cookie": person.cookie_header()}, origin="http://testserver.local"
    )


async def _next(socket: websockets.ClientConnection, kind: str) -> dict[str, object]:
    while True:
        message = json.loads(await socket.recv(decode=True))
        if message["kind"] == kind:
            return message  # type: ignore[no-any-return]


async def test_a_decline_reaches_the_chair_and_the_team_live(live_url: str, team: Team) -> None:
    chair = await Participant(live_url, team.chair).sign_in()
    member = await Participant(live_url, team.member).sign_in()
    meeting = f"/api/meetings/{team.meeting.id}"
    await chair.post(f"{meeting}/start")
    action = await chair.post(
        f"{meeting}/actions",
        {
            "title": "Refer to speech therapy",
            "owner_id": str(team.member.id),
            "due_date": (today_local() + timedelta(days=7)).isoformat(),
            "outcome_area": "being_healthy",
        },
    )
    chair_inbox, member_inbox = await _inbox(chair), await _inbox(member)
    assert (await _next(chair_inbox, "hello"))["unread"] == 0
    await _next(member_inbox, "hello")

    declined = await member.http.patch(
        f"/api/actions/{action.json()['id']}",
        json={"acceptance": "declined", "reason": "Not our service"},
        headers=member.csrf,
    )
    assert declined.status_code == 200, declined.text
    assert (await _next(chair_inbox, "notification"))["unread"] == 1
    assert (await _next(member_inbox, "actions"))["kind"] == "actions"
    for socket in (chair_inbox, member_inbox):
        await socket.close()
    for person in (chair, member):
        await person.close()


async def test_the_personal_socket_refuses_strangers(live_url: str, team: Team) -> None:
    member = await Participant(live_url, team.member).sign_in()
    url = live_url.replace("http://", "ws://") + "/ws/me"
    async with websockets.connect(url) as anonymous:
        with pytest.raises(websockets.ConnectionClosed):
            await anonymous.recv()
    assert anonymous.close_code == 4401
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            url, additional_headers={"Cookie": member.cookie_header()}, origin="http://evil.example"
        )
    assert refused.value.response.status_code == 403
    await member.close()
