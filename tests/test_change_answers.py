"""A change's answer while this process has the room open for sockets: it comes from the room
the change read ahead for the live feed, and must be exactly what reading it afresh gives the
same person, the family's without what is for professionals only."""

from __future__ import annotations

from typing import Any

import pytest

from server.meetings import views
from tests.live_support import Participant
from tests.support import Team

MARKER = "NARWHAL-7Q3X-professionals-only"


def settled(state: dict[str, Any]) -> dict[str, Any]:
    """Without what moves on its own: who is connected (presence settles on its own clock) and
    the seconds of the turn under way."""
    return state | {"attendance": [a | {"connected": None} for a in state["attendance"]], "speaking_time": None}


async def answered(person: Participant, base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await person.post(base + path, body)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    answer: dict[str, Any] = response.json()
    fresh = (await person.http.get(base)).json()
    assert fresh["version"] == answer["version"], "nothing else changed in between"
    assert settled(answer) == settled(fresh)
    return answer


async def test_a_changes_answer_is_the_room_its_caller_would_read(
    live_url: str, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    chair, member, family = [await Participant(live_url, p).sign_in() for p in (team.chair, team.member, team.family)]
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    sockets = [await p.socket(meeting) for p in (chair, member, family)]
    for socket in sockets:
        await socket.next()
    fresh_reads: list[object] = []
    real_state_of = views.state_of

    async def counted(*args: Any) -> Any:
        fresh_reads.append(args)
        return await real_state_of(*args)

    monkeypatch.setattr(views, "state_of", counted)  # only to see which path answered

    started = await answered(chair, base, "/start")
    assert started["status"] == "live"
    secret = await chair.post(f"{base}/agenda", {"title": f"Intelligence {MARKER}", "professionals_only": True})
    assert secret.status_code == 201, secret.text
    opened = await answered(chair, base, f"/agenda/{secret.json()['id']}/open")
    assert opened["open_item_id"] == secret.json()["id"]
    joined = await answered(member, base, "/join")
    assert MARKER in str(joined["agenda"])
    family_joined = await answered(family, base, "/join")
    assert MARKER not in str(family_joined), "the family's answer leaves out the professionals-only item"
    assert family_joined["open_item_id"] is None, "the family is not told which hidden item is open"
    assert fresh_reads == [], "each state answer came from the room the change read ahead"

    for socket in sockets:
        await socket.close()
    for person in (chair, member, family):
        await person.close()
