"""The conference's changes over real sockets, per audience: a score is announced to everyone
as a count with no number in it, the reveal sends every score to everyone at once, and an entry
under a professionals-only item reaches the professionals' sockets but never the family's."""

from __future__ import annotations

import json
from typing import Any

from tests.live_support import Participant, Socket
from tests.support import Team

SECRET = "WOMBAT-PRO-ONLY-8830"


async def until(socket: Socket, kind: str) -> dict[str, Any]:
    """The next message of ``kind`` (presence and other changes skipped), and every frame seen."""
    while True:
        message = await socket.next()
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


async def test_scores_counted_then_revealed_to_every_socket_and_the_board_filtered(live_url: str, team: Team) -> None:
    chair = await Participant(live_url, team.chair).sign_in()
    member = await Participant(live_url, team.member).sign_in()
    family = await Participant(live_url, team.family).sign_in()
    base = f"/api/meetings/{team.meeting.id}"

    async def ok(who: Participant, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await who.http.request(method, base + path, json=body, headers=who.csrf)
        assert response.status_code in (200, 201), response.text
        return response.json()

    shared = await ok(chair, "POST", "/agenda", {"title": "Home"})
    secret = await ok(chair, "POST", "/agenda", {"title": "Police", "professionals_only": True})
    await ok(chair, "POST", "/start")
    for person in (member, family):
        await ok(person, "POST", "/join")
    await ok(chair, "POST", f"/agenda/{shared['id']}/open")
    scale = await ok(chair, "POST", "/scales", {"question": "How safe is the child?"})

    sockets = {
        name: await p.socket(team.meeting.id) for name, p in (("chair", chair), ("member", member), ("family", family))
    }
    for socket in sockets.values():
        assert (await socket.next())["type"] == "state"

    await ok(member, "PUT", f"/scales/{scale['id']}/mine", {"score": 2, "reason": "Bruising"})
    for name, socket in sockets.items():
        message = await until(socket, "scale")
        (seen,) = message["state"]["scales"]
        assert seen["scored"] == 1, name
        assert seen["scores"] == [], f"{name}'s socket carried a score before the reveal"
        assert "Bruising" not in json.dumps(message)

    await ok(chair, "POST", f"/scales/{scale['id']}/reveal")
    for name, socket in sockets.items():
        (seen,) = (await until(socket, "scale"))["state"]["scales"]
        assert [(s["score"], s["reason"]) for s in seen["scores"]] == [(2, "Bruising")], name
        assert seen["status"] == "revealed"

    await ok(member, "POST", "/mapping", {"column": "worry", "text": SECRET, "agenda_item_id": secret["id"]})
    await ok(family, "POST", "/mapping", {"column": "working_well", "text": "Nan helps"})
    for name, socket in sockets.items():
        first, second = await until(socket, "mapping"), await until(socket, "mapping")
        texts = [e["text"] for e in second["state"]["mapping"]]
        if name == "family":
            assert texts == ["Nan helps"]
            assert SECRET not in json.dumps(first) + json.dumps(second)
        else:
            assert texts == [SECRET, "Nan helps"], name
    for socket in sockets.values():
        await socket.close()
    for person in (chair, member, family):
        await person.close()
