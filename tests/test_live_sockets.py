"""The meeting socket with real clients over TCP: everyone sees every change, in order."""

from __future__ import annotations

from server.platform.runtime import Runtime
from tests.live_support import Participant
from tests.support import Team


async def test_every_participant_sees_each_change_in_version_order(live_url: str, team: Team, runtime: Runtime) -> None:
    chair = await Participant(live_url, team.chair).sign_in()
    member = await Participant(live_url, team.member).sign_in()
    family = await Participant(live_url, team.family).sign_in()
    meeting = team.meeting.id
    sockets = [await p.socket(meeting) for p in (chair, member, family)]
    first = [await s.next() for s in sockets]
    assert [m["type"] for m in first] == ["state"] * 3
    start_version = first[0]["version"]

    started = await chair.post(f"/api/meetings/{meeting}/start")
    assert started.status_code == 200, started.text
    assert (await member.post(f"/api/meetings/{meeting}/join")).status_code == 200
    for socket in sockets:
        seen = []
        while len(seen) < 2:
            message = await socket.next()
            if message["type"] != "presence":
                seen.append(message)
        assert [m["version"] for m in seen] == [start_version + 1, start_version + 2]
        assert seen[-1]["state"]["status"] == "live"
    for s in sockets:
        await s.close()
    for p in (chair, member, family):
        await p.close()
