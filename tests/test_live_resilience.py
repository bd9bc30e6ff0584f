"""The live room under the faults that do not need a server killed: a participant who stops
reading, a whole-room request racing a change's notice, and presence that must never drift."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import psutil
import pytest
import websockets
from litestar import Litestar

from server.live.events import MeetingChanged, Publisher
from server.meetings import room as ops
from server.meetings.changes import ChangeKind
from server.meetings.room.agenda import NewItem
from server.platform.runtime import Runtime
from tests.live_support import Participant, Socket
from tests.support import Team, room_as
from tests.test_live_fanout import closed_code, drain, next_change, ok


@pytest.fixture
async def people(live_url: str, team: Team) -> Any:
    made: list[Participant] = []

    async def sign_in(*roles: str) -> list[Participant]:
        for role in roles:
            made.append(await Participant(live_url, getattr(team, role)).sign_in())
        return made[-len(roles) :]

    yield sign_in
    for participant in made:
        await participant.close()


async def test_a_whole_room_request_between_a_commit_and_its_notice_updates_everyone(
    people: Any, team: Team, app: Litestar, runtime: Runtime
) -> None:
    """The interleaving forced: a change commits, a socket asks for the whole room before the
    change's notice has arrived, and the notice comes last. Everyone must be on the new version
    at once, not only the socket that asked."""
    chair, member, lead = await people("chair", "member", "lead")
    meeting = team.meeting.id
    watcher = await member.socket(meeting)
    await watcher.next()
    await ok(chair, f"/api/meetings/{meeting}/start")
    version = (await next_change(watcher))["version"]
    await drain(watcher)

    async with runtime.sessionmaker() as session:  # committed; its notice withheld for now
        await room_as(runtime, session, team.chair).run(ops.add_item, meeting, NewItem("Raced"))
    asker = await lead.socket(meeting)
    whole = await asker.next()
    assert (whole["type"], whole["version"]) == ("state", version + 1)
    seen = await next_change(watcher, within=2.0)
    assert seen["version"] == version + 1, "the others were moved on with the one who asked"
    assert any(i["title"] == "Raced" for i in seen["state"]["agenda"])

    hub: Publisher = app.state["live"]
    await hub.meeting_changed(MeetingChanged(meeting, version + 1, ChangeKind.AGENDA))  # the late notice
    assert [m for m in await drain(watcher, 0.5) if m["type"] != "presence"] == [], "not sent twice"
    await watcher.close()
    await asker.close()


def _small_receive_buffer_socket(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    return raw


async def test_a_participant_who_stops_reading_never_holds_up_the_others(
    people: Any, team: Team, live_url: str
) -> None:
    """One laptop goes to sleep mid-meeting: its socket stops reading. Everyone else keeps
    getting every change at normal speed, the sleeper is cut off with 1013 once it is too far
    behind (and would reconnect for the whole room), and the server's memory stays flat."""
    chair, member, stuck_person = await people("chair", "member", "family")
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    await ok(chair, f"{base}/start")
    stuck = await websockets.connect(
        live_url.replace("http://", "ws://") + f"/ws/meetings/{meeting}?format=json",
        additional_headers={"Cookie": stuck_person.cookie_header()},
        origin="http://testserver.local",
        sock=_small_receive_buffer_socket(live_url),
        max_queue=1,
        compression=None,  # what it is sent fills the network buffers as it is, uncompressed
    )
    reader = await member.socket(meeting)
    await drain(reader)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    long_text = "A long note about the family's situation. " * 200  # ~8 KB of minutes per item: 15 MB in all
    latencies = []
    for n in range(60):
        started = time.perf_counter()
        await ok(chair, f"{base}/agenda", {"title": f"Item {n}", "minutes": long_text})
        while (await next_change(reader))["state"]["agenda"][-1]["title"] != f"Item {n}":
            pass
        latencies.append(time.perf_counter() - started)
    rss_growth = process.memory_info().rss - rss_before

    assert max(latencies) < 2.0, f"a change took {max(latencies):.2f}s to reach a reader"
    assert sorted(latencies)[len(latencies) // 2] < 0.5
    code = await closed_code(Socket(stuck), within=10.0)
    assert code == 1013, f"the stuck socket was closed with {code}"
    assert rss_growth < 80 * 2**20, f"the server grew by {rss_growth / 2**20:.0f} MiB"
    await reader.close()


async def test_presence_never_drifts_however_people_come_and_go(people: Any, team: Team, app: Litestar) -> None:
    """Several tabs each, opened and closed in any order, twice over: connected is exactly who has
    a socket open, and the API's attendance says so."""
    chair, member, family = await people("chair", "member", "family")
    meeting = team.meeting.id
    await ok(chair, f"/api/meetings/{meeting}/start")
    for who in (member, family):
        await ok(who, f"/api/meetings/{meeting}/join")
    hub: Publisher = app.state["live"]
    for _ in range(2):
        tabs = [await p.socket(meeting) for p in (member, member, family, chair)]
        await asyncio.sleep(0.2)
        assert await hub.connected(meeting) == {team.member.id, team.family.id, team.chair.id}
        state = (await member.http.get(f"/api/meetings/{meeting}")).json()
        shown = {a["user"]["id"] for a in state["attendance"] if a["connected"]}
        assert shown == {str(team.member.id), str(team.family.id), str(team.chair.id)}
        await tabs[0].close()
        await asyncio.sleep(0.2)
        assert team.member.id in await hub.connected(meeting), "a second tab still open"
        await asyncio.gather(tabs[1].close(), tabs[2].close())
        await asyncio.sleep(0.2)
        assert await hub.connected(meeting) == {team.chair.id}
        await tabs[3].close()
        await asyncio.sleep(0.2)
        assert await hub.connected(meeting) == frozenset()
