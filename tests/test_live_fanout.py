"""The meeting socket with real clients over TCP (uvicorn in this event loop): every participant
sees every change in version order, a reconnect starts from the whole room, browsers get htmx
fragments, the family never receives what is professionals-only, and the socket lets in only
team members from our own pages (or with a bearer token), closing at sign-out and at removal."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import websockets
from litestar import Litestar
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.live.events import MeetingChanged, Publisher
from server.meetings import room as ops
from server.meetings.changes import ChangeKind
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.live_support import Participant, Socket
from tests.support import Team, room_as

MARKER = "OKAPI-5K2W-professionals-only"
WAIT = 5.0


@pytest.fixture
async def people(live_url: str, team: Team) -> Any:
    made: list[Participant] = []

    async def sign_in(*roles: str) -> list[Participant]:
        joined = []
        for role in roles:
            participant = await Participant(live_url, getattr(team, role)).sign_in()
            made.append(participant)
            joined.append(participant)
        return joined

    yield sign_in
    for participant in made:
        await participant.close()


def ws_url(live_url: str, meeting_id: object, fmt: str = "json") -> str:
    return live_url.replace("http://", "ws://") + f"/ws/meetings/{meeting_id}?format={fmt}"


async def ok(participant: Participant, path: str, body: dict[str, Any] | None = None) -> Any:
    response = await participant.post(path, body)
    assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
    return response.json()


async def next_change(socket: Socket, within: float = WAIT) -> dict[str, Any]:
    """The next JSON message that reports a change (presence comings and goings skipped)."""
    while True:
        message = await socket.next(within)
        assert isinstance(message, dict), message
        if message["type"] != "presence":
            return message


async def drain(socket: Socket, quiet: float = 0.3) -> list[Any]:
    """Everything the socket receives until it has been quiet for `quiet` seconds."""
    seen = []
    while True:
        try:
            seen.append(await socket.next(quiet))
        except TimeoutError:
            return seen


async def until_version(socket: Socket, version: int, within: float = WAIT) -> list[dict[str, Any]]:
    """JSON messages up to and including the first one at `version` or later."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not seen or seen[-1]["version"] < version:
            seen.append(await socket.next(within))
    return seen


async def closed_code(socket: Socket, within: float = 3.0) -> int | None:
    """Read until the server closes the socket; the close code it sent (None: no close frame)."""
    closed: ConnectionClosed | None = None
    try:
        async with asyncio.timeout(within):
            while True:
                await socket.connection.recv()
    except ConnectionClosed as error:
        closed = error
    return None if closed is None or closed.rcvd is None else closed.rcvd.code


async def refusal(connecting: Any) -> int | None:
    """How a socket is refused: an HTTP status at the handshake, or a close code right after it."""
    try:
        opened = await connecting
    except InvalidStatus as refused:
        return int(refused.response.status_code)
    connection = opened.connection if isinstance(opened, Socket) else opened
    closed: ConnectionClosed | None = None
    try:
        message = await asyncio.wait_for(connection.recv(), WAIT)
    except ConnectionClosed as error:
        closed = error
    if closed is None:
        await connection.close()
        raise AssertionError(f"the socket was accepted and sent {str(message)[:200]}")
    return None if closed.rcvd is None else closed.rcvd.code


# --- fan-out ---------------------------------------------------------------------------------


async def test_every_client_sees_every_change_in_version_order(people: Any, team: Team) -> None:
    chair, member, family, lead = await people("chair", "member", "family", "lead")
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    sockets = {
        "chair": await chair.socket(meeting),
        "member": await member.socket(meeting),
        "family": await family.socket(meeting),
        "member, second tab": await member.socket(meeting),
    }
    firsts = {name: await s.next() for name, s in sockets.items()}
    assert {m["type"] for m in firsts.values()} == {"state"}
    version = firsts["chair"]["version"]
    assert {m["version"] for m in firsts.values()} == {version}
    for socket in sockets.values():
        await drain(socket)  # presence: the others connecting

    tomorrow = (today_local() + timedelta(days=2)).isoformat()
    item: dict[str, Any] = {}
    decision: dict[str, Any] = {}

    async def add_item() -> None:
        item.update(await ok(chair, f"{base}/agenda", {"title": "Health update"}))

    async def record() -> None:
        decision.update(
            await ok(chair, f"{base}/decisions", {"agenda_item_id": item["id"], "text": "Refer", "outcome": "agreed"})
        )

    steps: list[tuple[str, Any]] = [
        ("started", lambda: ok(chair, f"{base}/start")),
        ("attendance", lambda: ok(member, f"{base}/join")),
        ("attendance", lambda: ok(family, f"{base}/join")),
        ("attendance", lambda: ok(lead, f"{base}/join")),
        ("agenda", add_item),
        ("item_opened", lambda: ok(chair, f"{base}/agenda/{item['id']}/open")),
        ("queue", lambda: ok(member, f"{base}/hands", {"kind": "contribution"})),
        ("queue", lambda: ok(family, f"{base}/hands", {"kind": "contribution"})),
        ("floor", lambda: ok(chair, f"{base}/floor/next")),
        ("queue", lambda: ok(lead, f"{base}/hands", {"kind": "reply"})),
        ("floor", lambda: ok(chair, f"{base}/floor/end")),
        ("decision", record),
        (
            "action",
            lambda: ok(
                chair,
                f"{base}/actions",
                {
                    "title": "Clinic",
                    "owner_id": str(team.lead.id),
                    "due_date": tomorrow,
                    "outcome_area": "being_healthy",
                },
            ),
        ),
        ("queue", lambda: ok(chair, f"{base}/round")),
        ("attendance", lambda: ok(lead, f"{base}/leave")),
    ]
    received: dict[str, list[dict[str, Any]]] = {name: [] for name in sockets}
    for expected_type, step in steps:
        await step()
        version += 1
        for name, socket in sockets.items():
            message = await next_change(socket)
            assert (message["version"], message["type"]) == (version, expected_type), name
            assert message["meeting_id"] == str(meeting)
            assert message["state"]["version"] == version
            received[name].append(message)

    for name, messages in received.items():
        versions = [m["version"] for m in messages]
        assert versions == sorted(set(versions)), f"{name}: strictly increasing"
        assert [m["type"] for m in messages] == [t for t, _ in steps], name
    last = {name: messages[-1]["state"] for name, messages in received.items()}
    assert last["member"] == last["member, second tab"], "one audience, the same bytes"
    assert [d["id"] for d in last["family"]["decisions"]] == [decision["id"]]
    assert last["chair"]["status"] == "live"
    for socket in sockets.values():
        await socket.close()


async def test_a_burst_of_changes_arrives_in_order_and_ends_at_the_latest_version(people: Any, team: Team) -> None:
    chair, member = await people("chair", "member")
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    sockets = [await chair.socket(meeting), await member.socket(meeting)]
    start = [await s.next() for s in sockets].pop()["version"]
    for socket in sockets:
        await drain(socket)
    await ok(chair, f"{base}/start")
    await ok(member, f"{base}/join")
    for n in range(8):  # fired one after another without waiting for the sockets
        await ok(chair, f"{base}/agenda", {"title": f"Item {n}"})
        await ok(member, f"{base}/hands", {"kind": "contribution"})
        await ok(member, f"{base}/leave")
        await ok(member, f"{base}/join")
    final = start + 2 + 8 * 4
    for socket in sockets:
        messages = [m for m in await until_version(socket, final) if m["type"] != "presence"]
        versions = [m["version"] for m in messages]
        # changes that arrive during a render are merged into the next one, so versions may be
        # skipped; a repeated version is test_a_version_already_sent_is_not_sent_again's business
        assert versions == sorted(versions), "never an older state after a newer one"
        assert versions[-1] == final
        agenda = [i["title"] for i in messages[-1]["state"]["agenda"] if not i["is_child_voice"]]
        assert agenda == [f"Item {n}" for n in range(8)]
        await socket.close()


async def test_a_version_already_sent_is_not_sent_again(
    people: Any, team: Team, app: Litestar, runtime: Runtime
) -> None:
    """Two changes commit before the notice of the first is handled (a second web process, a slow
    pub/sub): the render for the first notice already shows both, so the second notice must not
    send that same version again; browsers must still get every region both changes touched."""
    chair, member = await people("chair", "member")
    meeting = team.meeting.id
    json_socket = await member.socket(meeting)
    html_socket = await member.socket(meeting, fmt="html")
    await json_socket.next()
    await html_socket.next_text()
    await ok(chair, f"/api/meetings/{meeting}/start")
    version = (await next_change(json_socket))["version"]
    await drain(json_socket)
    await drain(html_socket)

    async with runtime.sessionmaker() as session:  # change 1 touches the agenda
        await room_as(runtime, session, team.chair).run(ops.add_item, meeting, NewItem("Arrived together"))
    async with runtime.sessionmaker() as session:  # change 2 the queue
        await room_as(runtime, session, team.chair).run(ops.raise_hand, meeting, NewHand(user_id=team.member.id))
    hub: Publisher = app.state["live"]
    await hub.meeting_changed(MeetingChanged(meeting, version + 1, ChangeKind.AGENDA))
    first = await next_change(json_socket)
    assert first["version"] == version + 2, "the render reads the room as it is now"
    await drain(json_socket, 0.2)
    await hub.meeting_changed(MeetingChanged(meeting, version + 2, ChangeKind.QUEUE))
    later = [m for m in await drain(json_socket, 0.5) if m["type"] != "presence"]
    assert [m["version"] for m in later] == [], f"version {version + 2} was sent again"

    fragments = "".join(await drain(html_socket, 0.5))
    assert "Arrived together" in fragments
    queue = fragments[fragments.index('id="region-queue"') :]
    assert team.member.name in queue, "the queue region with the new hand reached the browser"
    await json_socket.close()
    await html_socket.close()


async def test_a_reconnecting_client_gets_the_whole_room_first(people: Any, team: Team) -> None:
    chair, member = await people("chair", "member")
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    socket = await member.socket(meeting)
    assert (await socket.next())["type"] == "state"
    await socket.close()

    await ok(chair, f"{base}/start")
    await ok(member, f"{base}/join")
    item = await ok(chair, f"{base}/agenda", {"title": "While you were away"})
    await ok(chair, f"{base}/agenda/{item['id']}/open")
    await ok(member, f"{base}/hands", {"kind": "point_of_order"})
    current = (await member.http.get(base)).json()

    again = await member.socket(meeting)
    first = await again.next()
    assert first["type"] == "state"
    assert first["version"] == current["version"]
    assert first["meeting_id"] == str(meeting)
    state = first["state"]
    assert state["status"] == "live"
    assert state["open_item_id"] == item["id"]
    assert [(h["user"]["id"], h["kind"]) for h in state["queue"]] == [(str(team.member.id), "point_of_order")]
    for key in ("agenda", "speaker", "queue", "not_yet_heard", "speaking_time", "attendance", "decisions", "actions"):
        assert state[key] == current[key] or key == "attendance", key
    # asking again (after a gap) gets the whole room again
    await again.connection.send(json.dumps({"resync": True}))
    resent = await next_change(again)
    assert (resent["type"], resent["version"]) == ("state", current["version"])
    await again.close()


# --- HTML for browsers -------------------------------------------------------------------------

REGION = re.compile(r'id="region-([a-z]+)"')


async def test_browsers_get_out_of_band_fragments(people: Any, team: Team) -> None:
    chair, member = await people("chair", "member")
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    html = await member.socket(meeting, fmt="html")
    whole = await html.next_text()
    assert not whole.startswith("{")
    assert "hx-swap-oob" in whole
    assert set(REGION.findall(whole)) >= {
        "status",
        "agenda",
        "floor",
        "queue",
        "unheard",
        "people",
        "balance",
        "decisions",
        "actions",
    }
    await drain(html)

    await ok(chair, f"{base}/start")
    started = await html.next_text()
    assert "hx-swap-oob" in started
    assert 'id="region-status"' in started
    await ok(member, f"{base}/join")
    joined = await html.next_text()
    # Joining changes who is present: the people, who has not been heard yet, the queue's controls,
    # the balance of voices and the agencies a decision can record a position for; nothing else.
    assert REGION.findall(joined) == ["queue", "unheard", "people", "balance", "decisions"], (
        "only the changed regions are sent"
    )
    await ok(member, f"{base}/hands", {"kind": "contribution"})
    queued = await html.next_text()
    assert "hx-swap-oob" in queued
    assert set(REGION.findall(queued)) == {"queue"}, "raising one's hand changes the queue only"
    for fragment in REGION.findall(queued):
        assert re.search(rf'id="region-{fragment}"[^>]*hx-swap-oob', queued) or re.search(
            rf'hx-swap-oob[^>]*id="region-{fragment}"', queued
        ), fragment
    assert team.member.name in queued
    await html.close()


# --- the family and professionals-only items --------------------------------------------------


async def test_the_family_socket_never_receives_a_professionals_only_item(people: Any, team: Team) -> None:
    chair, member, lead, family = await people("chair", "member", "lead", "family")
    meeting = team.meeting.id
    base = f"/api/meetings/{meeting}"
    family_json = await family.socket(meeting)
    family_html = await family.socket(meeting, fmt="html")
    member_json = await member.socket(meeting)
    member_html = await member.socket(meeting, fmt="html")
    chair_json = await chair.socket(meeting)
    family_messages: list[str] = []
    family_messages.append(json.dumps(await family_json.next()))
    family_messages.append(await family_html.next_text())

    await ok(chair, f"{base}/start")
    for person in (member, lead, family):
        await ok(person, f"{base}/join")
    public = await ok(chair, f"{base}/agenda", {"title": "The family's views"})
    secret = await ok(
        chair,
        f"{base}/agenda",
        {"title": f"Police intelligence {MARKER}", "professionals_only": True, "minutes": f"Notes {MARKER}"},
    )
    await ok(chair, f"{base}/agenda/{secret['id']}/open")
    await ok(lead, f"{base}/hands", {"kind": "contribution"})
    await ok(chair, f"{base}/floor/next")
    await ok(member, f"{base}/hands", {"kind": "reply"})
    decision = await ok(
        chair,
        f"{base}/decisions",
        {
            "agenda_item_id": secret["id"],
            "text": f"Share {MARKER}",
            "outcome": "agreed",
            "positions": [{"agency_id": str(team.member.agency_id), "position": "disagree", "reason": MARKER}],
        },
    )
    due = (today_local() + timedelta(days=5)).isoformat()
    for extra in ({}, {"decision_id": decision["id"]}, {"agenda_item_id": secret["id"]}):
        await ok(
            chair,
            f"{base}/actions",
            {
                "title": f"Check {MARKER}",
                "owner_id": str(team.member.id),
                "due_date": due,
                "outcome_area": "staying_safe",
            }
            | extra,
        )
    await ok(chair, f"{base}/floor/next")
    await ok(chair, f"{base}/agenda/{public['id']}/open")
    final = (await chair.http.get(base)).json()["version"]

    family_messages += [json.dumps(m) for m in await until_version(family_json, final)]
    chair_messages = [json.dumps(m) for m in await until_version(chair_json, final)]
    member_messages = [json.dumps(m) for m in await until_version(member_json, final)]
    await asyncio.sleep(0.3)  # the HTML of the same broadcasts
    family_messages += await drain(family_html)
    member_fragments = await drain(member_html)

    assert sum(MARKER in m for m in chair_messages) >= 5, "the chair sees the item and what is under it"
    assert sum(MARKER in m for m in member_messages) >= 5
    assert any(MARKER in m for m in member_fragments), "professionals get it in their HTML too"
    assert len(family_messages) >= 15
    leaks = [m for m in family_messages if MARKER in m or secret["id"] in m or decision["id"] in m]
    assert leaks == [], leaks[0][:500] if leaks else ""
    for socket in (family_json, family_html, member_json, member_html, chair_json):
        await socket.close()


# --- who may connect ---------------------------------------------------------------------------


async def test_a_foreign_origin_is_refused(people: Any, team: Team, live_url: str) -> None:
    (member,) = await people("member")
    code = await refusal(
        websockets.connect(
            ws_url(live_url, team.meeting.id),
            additional_headers={"Cookie": member.cookie_header()},
            origin="http://evil.example",  # type: ignore[arg-type]
        )
    )
    assert code in (403, 4403)
    no_origin = await refusal(
        websockets.connect(ws_url(live_url, team.meeting.id), additional_headers={"Cookie": member.cookie_header()})
    )
    assert no_origin in (403, 4403), "a cookie without an Origin is not from our pages either"
    # the same person from the server's own pages is let in
    socket = await member.socket(team.meeting.id)
    assert (await socket.next())["type"] == "state"
    await socket.close()


async def test_no_session_and_outsiders_are_refused(people: Any, team: Team, live_url: str) -> None:
    (outsider,) = await people("outsider")
    nobody = await refusal(websockets.connect(ws_url(live_url, team.meeting.id), origin="http://testserver.local"))  # type: ignore[arg-type]
    assert nobody == 4401, "the client is told to sign in (a handshake refusal reaches a browser as 1006)"
    forged = await refusal(
        websockets.connect(
            ws_url(live_url, team.meeting.id),
            additional_headers={"Cookie": "rt_session=forged-token"},
            origin="http://testserver.local",  # type: ignore[arg-type]
        )
    )
    assert forged == 4401
    bad_token = await refusal(
        websockets.connect(ws_url(live_url, team.meeting.id), additional_headers={"Authorization": "Bearer rt_nope"})
    )
    assert bad_token == 4401
    assert await refusal(outsider.socket(team.meeting.id)) == 4404
    assert await refusal(outsider.socket(uuid.uuid4())) == 4404


async def test_signing_out_closes_that_sessions_sockets(people: Any, team: Team) -> None:
    member, chair = await people("member", "chair")
    meeting = team.meeting.id
    tabs = [await member.socket(meeting), await member.socket(meeting, fmt="html")]
    watcher = await chair.socket(meeting)
    for socket in (*tabs, watcher):
        await socket.next()
    response = await member.http.delete("/api/session", headers=member.csrf)
    assert response.status_code == 200, response.text
    codes = await asyncio.gather(*(closed_code(s, within=2.5) for s in tabs))
    assert codes == [4401, 4401]
    # the chair's socket is untouched and still live
    await drain(watcher)
    await ok(chair, f"/api/meetings/{meeting}/start")
    started = await next_change(watcher)
    assert started["state"]["status"] == "live"
    assert started["type"] in ("started", "change")  # a late presence notice may merge with it
    # the old cookie no longer opens a socket
    assert await refusal(member.socket(meeting)) == 4401
    await watcher.close()


async def test_removing_a_member_closes_their_sockets(people: Any, team: Team) -> None:
    member, chair, family = await people("member", "chair", "family")
    meeting = team.meeting.id
    tabs = [await member.socket(meeting), await member.socket(meeting, fmt="html")]
    bystander = await family.socket(meeting)
    for socket in (*tabs, bystander):
        await socket.next()
    response = await chair.http.delete(f"/api/cases/{team.case.id}/members/{team.member.id}", headers=chair.csrf)
    assert response.status_code == 200, response.text
    codes = await asyncio.gather(*(closed_code(s, within=2.5) for s in tabs))
    assert codes == [4403, 4403]
    await drain(bystander)
    await ok(chair, f"/api/meetings/{meeting}/start")
    started = await next_change(bystander)
    assert started["state"]["status"] == "live"
    assert started["type"] in ("started", "change")  # a late presence notice may merge with it
    assert await refusal(member.socket(meeting)) == 4404
    await bystander.close()


async def test_a_bearer_token_client_needs_no_origin(people: Any, team: Team, live_url: str, runtime: Runtime) -> None:
    member, chair = await people("member", "chair")
    created = await member.post("/api/tokens", {"name": "case system"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    connection = await websockets.connect(
        ws_url(live_url, team.meeting.id), additional_headers={"Authorization": f"Bearer {token}"}
    )
    socket = Socket(connection)
    first = await socket.next()
    assert first["type"] == "state"
    assert first["meeting_id"] == str(team.meeting.id)
    await drain(socket)
    await ok(chair, f"/api/meetings/{team.meeting.id}/start")
    assert (await next_change(socket))["state"]["status"] == "live"
    await socket.close()
