"""The live meeting's JSON API (API.md, "A live meeting"), call by call, through the app in
this event loop: who may do what, in which state, and what the room's state shows afterwards.

Every person has their own signed-in client (cookie and CSRF token, like a browser)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from server.people.models import User
from server.timeutil import today_local
from tests.support import Person, Team, csrf, sign_in

MARKER = "ZEBRA-7Q3X-professionals-only"


@dataclass
class Room:
    team: Team
    chair: Person
    member: Person
    lead: Person
    family: Person
    outsider: Person
    anonymous: httpx.AsyncClient

    @property
    def base(self) -> str:
        return f"/api/meetings/{self.team.meeting.id}"

    async def state(self, who: Person | None = None) -> dict[str, Any]:
        response = await (who or self.chair).get(self.base)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def ok(self, who: Person, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = await who.post(self.base + path, body)
        assert response.status_code == status, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def live(self, *joiners: Person) -> None:
        await self.ok(self.chair, "/start")
        for person in joiners:
            await self.ok(person, "/join")

    async def add_item(self, title: str, *, professionals_only: bool = False, minutes: str = "") -> str:
        body = {"title": title, "professionals_only": professionals_only, "minutes": minutes}
        return str((await self.ok(self.chair, "/agenda", body, 201))["id"])

    async def open_item(self, item_id: str) -> None:
        await self.ok(self.chair, f"/agenda/{item_id}/open")

    async def raise_hand(self, who: Person, kind: str = "contribution") -> str:
        return str((await self.ok(who, "/hands", {"kind": kind}, 201))["id"])

    async def speak(self, who: Person) -> None:
        """Give `who` the floor (they must be at the head of the queue) and end the turn."""
        await self.raise_hand(who)
        assert (await self.ok(self.chair, "/floor/next"))["speaker_id"] == who.id
        await self.ok(self.chair, "/floor/end")


@pytest.fixture
async def room(app: Litestar, team: Team, client: httpx.AsyncClient) -> AsyncIterator[Room]:
    made: list[httpx.AsyncClient] = []

    def new_client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000 + len(made)))
        made.append(httpx.AsyncClient(transport=transport, base_url="http://testserver.local"))
        return made[-1]

    people: dict[str, Person] = {}
    for role in ("chair", "member", "lead", "family", "outsider"):
        user: User = getattr(team, role)
        http = client if role == "chair" else new_client()
        await sign_in(http, user)
        people[role] = Person(http, user)
    anonymous = new_client()
    await anonymous.get("/sign-in")
    yield Room(team, anonymous=anonymous, **people)
    for each in made:
        await each.aclose()


def detail(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) >= {"status_code", "detail"}, body
    assert body["status_code"] == response.status_code
    return str(body["detail"])


def agency_ids(entries: list[dict[str, Any]]) -> set[str]:
    return {e["agency"]["id"] if "agency" in e else e["id"] for e in entries}


# --- start and end ------------------------------------------------------------------------


async def test_only_the_chair_starts_and_ends_the_meeting(room: Room) -> None:
    for who, status in ((room.member, 403), (room.lead, 403), (room.family, 403), (room.outsider, 404)):
        response = await who.post(room.base + "/start")
        assert response.status_code == status, (who.user.email, response.text)
        detail(response)
    assert (await room.anonymous.post(room.base + "/start", headers=csrf(room.anonymous))).status_code == 401
    assert (await room.state())["status"] == "scheduled"

    ending_early = await room.chair.post(room.base + "/end")
    assert ending_early.status_code == 409, ending_early.text
    assert "not started" in detail(ending_early)

    before = (await room.state())["version"]
    started = await room.ok(room.chair, "/start")
    assert started["status"] == "live"
    assert started["started_at"] is not None
    assert started["version"] == before + 1
    assert [a["user"]["id"] for a in started["attendance"] if a["present"]] == [room.chair.id]

    again = await room.chair.post(room.base + "/start")
    assert again.status_code == 409, again.text
    detail(again)

    for who, status in ((room.member, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/end")).status_code == status
    ended = await room.ok(room.chair, "/end")
    assert ended["status"] == "ended"
    assert ended["ended_at"] is not None
    assert (await room.chair.post(room.base + "/end")).status_code == 409
    assert (await room.chair.post(room.base + "/start")).status_code == 409


async def test_ending_clears_the_queue_and_the_floor(room: Room) -> None:
    await room.live(room.member, room.lead)
    await room.raise_hand(room.member)
    await room.raise_hand(room.lead)
    await room.ok(room.chair, "/floor/next")
    ended = await room.ok(room.chair, "/end")
    assert ended["speaker"] is None
    assert ended["queue"] == []
    # the room is a record now: nothing more happens in it
    assert (await room.member.post(room.base + "/hands", {"kind": "contribution"})).status_code == 409
    assert (await room.chair.post(room.base + "/floor/next")).status_code == 409


# --- attendance ---------------------------------------------------------------------------


async def test_members_join_and_leave(room: Room) -> None:
    # joining is allowed before the start (the waiting room) and while live
    joined = await room.ok(room.member, "/join")
    assert {a["user"]["id"]: a["present"] for a in joined["attendance"]} == {room.member.id: True}
    await room.ok(room.chair, "/start")
    await room.ok(room.family, "/join")
    state = await room.state()
    assert {a["user"]["id"]: a["present"] for a in state["attendance"]} == {
        room.member.id: True,
        room.chair.id: True,
        room.family.id: True,
    }
    await room.raise_hand(room.member)

    left = await room.ok(room.member, "/leave")
    attendance = {a["user"]["id"]: a for a in left["attendance"]}
    assert attendance[room.member.id]["present"] is False
    assert attendance[room.member.id]["left_at"] is not None
    assert left["queue"] == [], "leaving lowers the person's hands"

    again = await room.member.post(room.base + "/leave")
    assert again.status_code == 409, again.text
    never_joined = await room.lead.post(room.base + "/leave")
    assert never_joined.status_code == 409, never_joined.text

    rejoined = await room.ok(room.member, "/join")
    assert {a["user"]["id"]: a["present"] for a in rejoined["attendance"]}[room.member.id] is True

    for path in ("/join", "/leave"):
        assert (await room.outsider.post(room.base + path)).status_code == 404
        assert (await room.anonymous.post(room.base + path, headers=csrf(room.anonymous))).status_code == 401


# --- the agenda ---------------------------------------------------------------------------


async def test_the_chair_adds_agenda_items(room: Room) -> None:
    first = await room.chair.post(room.base + "/agenda", {"title": "  Health update  "})
    assert first.status_code == 201, first.text
    item = first.json()
    assert item["title"] == "Health update"
    assert item["professionals_only"] is False
    uuid.UUID(item["id"])
    second = await room.ok(room.chair, "/agenda", {"title": "Police information", "professionals_only": True}, 201)
    assert second["professionals_only"] is True
    assert second["position"] == item["position"] + 1

    for who, status in ((room.member, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/agenda", {"title": "Mine"})).status_code == status
    for bad in ({"title": ""}, {"title": "   "}, {"title": "x" * 301}, {}, {"title": 5}):
        response = await room.chair.post(room.base + "/agenda", bad)
        assert response.status_code in (400, 422), (bad, response.text)

    chair_view = await room.state()
    assert [(i["title"], i["professionals_only"]) for i in chair_view["agenda"] if not i["is_child_voice"]] == [
        ("Health update", False),
        ("Police information", True),
    ]
    member_view = await room.state(room.member)
    assert [i["title"] for i in member_view["agenda"] if not i["is_child_voice"]] == [
        "Health update",
        "Police information",
    ]
    family_view = await room.state(room.family)
    assert [i["title"] for i in family_view["agenda"] if not i["is_child_voice"]] == ["Health update"]

    # items can be added while live as well, not after the end
    await room.ok(room.chair, "/start")
    await room.add_item("Any other business")
    await room.ok(room.chair, "/end")
    assert (await room.chair.post(room.base + "/agenda", {"title": "Late"})).status_code == 409


async def test_opening_an_item(room: Room) -> None:
    item = await room.add_item("Health update")
    early = await room.chair.post(f"{room.base}/agenda/{item}/open")
    assert early.status_code == 409, early.text

    await room.live(room.member)
    unknown = await room.chair.post(f"{room.base}/agenda/{uuid.uuid4()}/open")
    assert unknown.status_code == 404, unknown.text
    assert (await room.member.post(f"{room.base}/agenda/{item}/open")).status_code == 403
    assert (await room.outsider.post(f"{room.base}/agenda/{item}/open")).status_code == 404

    opened = await room.ok(room.chair, f"/agenda/{item}/open")
    assert opened["open_item_id"] == item
    assert [i["open"] for i in opened["agenda"] if not i["is_child_voice"]] == [True]

    other = await room.add_item("Education")
    state = await room.ok(room.chair, f"/agenda/{other}/open")
    assert state["open_item_id"] == other
    assert {i["id"]: i["open"] for i in state["agenda"] if not i["is_child_voice"]} == {item: False, other: True}


# --- hands --------------------------------------------------------------------------------


async def test_raising_hands(room: Room) -> None:
    await room.ok(room.chair, "/start")
    not_joined = await room.member.post(room.base + "/hands", {"kind": "contribution"})
    assert not_joined.status_code == 409, not_joined.text
    assert "Join" in detail(not_joined)

    await room.ok(room.member, "/join")
    await room.ok(room.family, "/join")
    for kind in ("contribution", "point_of_order"):
        response = await room.member.post(room.base + "/hands", {"kind": kind})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["kind"] == kind
        assert body["user_id"] == room.member.id
        uuid.UUID(body["id"])
    version = (await room.state())["version"]
    twice = await room.member.post(room.base + "/hands", {"kind": "contribution"})
    assert twice.status_code == 409, twice.text
    assert twice.json()["code"] == "hand_already_up"
    assert (await room.state())["version"] == version, "a refused hand changes nothing"
    for_them = await room.chair.post(room.base + "/hands", {"kind": "point_of_order", "user_id": room.member.id})
    assert for_them.status_code == 409, for_them.text
    assert for_them.json()["code"] == "hand_already_up"
    no_speaker = await room.member.post(room.base + "/hands", {"kind": "reply"})
    assert no_speaker.status_code == 409, no_speaker.text
    for bad in ("shout", "", "CONTRIBUTION", "x" * 40):
        response = await room.family.post(room.base + "/hands", {"kind": bad})
        assert response.status_code in (400, 422), (bad, response.text)
    assert (await room.family.post(room.base + "/hands", {"kind": None})).status_code in (400, 422)
    defaulted = await room.family.post(room.base + "/hands", {})
    assert defaulted.status_code == 201, defaulted.text
    assert defaulted.json()["kind"] == "contribution"
    assert (await room.outsider.post(room.base + "/hands", {"kind": "contribution"})).status_code == 404

    queue = (await room.state())["queue"]
    assert [(h["user"]["id"], h["kind"]) for h in queue] == [
        (room.member.id, "point_of_order"),
        (room.member.id, "contribution"),
        (room.family.id, "contribution"),
    ]
    assert [h["position"] for h in queue] == [0, 1, 2]
    for hand in queue:
        assert set(hand) >= {"id", "user", "agency_id", "kind", "raised_at", "moved_by_chair"}
        assert hand["moved_by_chair"] is False
        assert hand["raised_by_chair"] is False
        assert hand["agency_id"] == hand["user"]["agency_id"]


async def test_replies_and_points_of_order_jump_the_queue(room: Room) -> None:
    await room.live(room.member, room.lead, room.family)
    item = await room.add_item("Health update")
    await room.open_item(item)
    await room.raise_hand(room.member)
    await room.ok(room.chair, "/floor/next")

    own_reply = await room.member.post(room.base + "/hands", {"kind": "reply"})
    assert own_reply.status_code == 409, "the speaker cannot reply to themself"
    await room.raise_hand(room.lead)
    await room.raise_hand(room.family, "reply")
    queue = (await room.state())["queue"]
    assert [(h["user"]["id"], h["kind"]) for h in queue] == [
        (room.family.id, "reply"),
        (room.lead.id, "contribution"),
    ]
    await room.raise_hand(room.lead, "point_of_order")
    queue = (await room.state())["queue"]
    assert [(h["user"]["id"], h["kind"]) for h in queue] == [
        (room.lead.id, "point_of_order"),
        (room.family.id, "reply"),
        (room.lead.id, "contribution"),
    ]
    given = await room.ok(room.chair, "/floor/next")
    assert given["speaker_id"] == room.lead.id
    speaker = (await room.state())["speaker"]
    assert speaker["user"]["id"] == room.lead.id
    assert speaker["kind"] == "point_of_order"


async def test_a_reply_to_the_speaker_is_given_the_floor_next(room: Room) -> None:
    """Giving the floor ends the current turn; the reply to that turn must still count as a reply
    when the next speaker is chosen, or replies would never jump the queue."""
    await room.live(room.member, room.lead, room.family)
    item = await room.add_item("Health update")
    await room.open_item(item)
    await room.raise_hand(room.member)
    assert (await room.ok(room.chair, "/floor/next"))["speaker_id"] == room.member.id
    await room.raise_hand(room.lead)  # raised first, an ordinary contribution
    await room.raise_hand(room.family, "reply")  # a direct reply to the member
    assert [h["user"]["id"] for h in (await room.state())["queue"]] == [room.family.id, room.lead.id]

    given = await room.ok(room.chair, "/floor/next")
    assert given["speaker_id"] == room.family.id, "the reply comes next, as the queue showed"
    assert (await room.state())["speaker"]["kind"] == "reply"
    # the reply's turn is over: the lead, unheard, is next
    assert (await room.ok(room.chair, "/floor/next"))["speaker_id"] == room.lead.id


async def test_the_chair_raises_a_hand_for_a_team_member(room: Room) -> None:
    await room.live(room.member)
    response = await room.chair.post(room.base + "/hands", {"kind": "contribution", "user_id": room.lead.id})
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == room.lead.id
    state = await room.state()
    [hand] = state["queue"]
    assert hand["user"]["id"] == room.lead.id
    assert hand["raised_by_chair"] is True
    assert hand["agency_id"] == str(room.lead.user.agency_id)
    assert room.lead.id in {a["user"]["id"] for a in state["attendance"] if a["present"]}, "in the room now"

    outsider = await room.chair.post(room.base + "/hands", {"kind": "contribution", "user_id": room.outsider.id})
    assert outsider.status_code == 422, outsider.text
    nobody = await room.chair.post(room.base + "/hands", {"kind": "contribution", "user_id": str(uuid.uuid4())})
    assert nobody.status_code == 422, nobody.text
    not_chair = await room.member.post(room.base + "/hands", {"kind": "contribution", "user_id": room.lead.id})
    assert not_chair.status_code == 403, not_chair.text
    malformed = await room.chair.post(room.base + "/hands", {"kind": "contribution", "user_id": "not-a-uuid"})
    assert malformed.status_code in (400, 422), malformed.text
    # the chair raising their own hand is not "raised by the chair for someone"
    await room.raise_hand(room.chair)
    mine = next(h for h in (await room.state())["queue"] if h["user"]["id"] == room.chair.id)
    assert mine["raised_by_chair"] is False


async def test_lowering_ones_hands(room: Room) -> None:
    await room.live(room.member, room.lead)
    nothing = await room.member.delete(room.base + "/hands/mine")
    assert nothing.status_code == 409, nothing.text
    await room.raise_hand(room.member)
    await room.raise_hand(room.member, "point_of_order")
    await room.raise_hand(room.lead)

    only_kind = await room.member.delete(room.base + "/hands/mine", kind="point_of_order")
    assert only_kind.status_code == 200, only_kind.text
    queue = (await room.state())["queue"]
    assert [(h["user"]["id"], h["kind"]) for h in queue] == [
        (room.member.id, "contribution"),
        (room.lead.id, "contribution"),
    ]
    bad_kind = await room.member.delete(room.base + "/hands/mine", kind="shout")
    assert bad_kind.status_code in (400, 422), bad_kind.text

    lowered = await room.member.delete(room.base + "/hands/mine")
    assert lowered.status_code == 200, lowered.text
    assert [h["user"]["id"] for h in (await room.state())["queue"]] == [room.lead.id]
    assert (await room.member.delete(room.base + "/hands/mine")).status_code == 409
    assert (await room.outsider.delete(room.base + "/hands/mine")).status_code == 404
    # the hand can go up again once lowered
    await room.raise_hand(room.member)


async def test_the_chair_moves_a_hand_and_the_move_is_shown(room: Room) -> None:
    await room.live(room.member, room.lead, room.family)
    first = await room.raise_hand(room.member)
    await room.raise_hand(room.lead)
    last = await room.raise_hand(room.family)
    assert (await room.state())["queue"][0]["id"] == first

    for who, status in ((room.member, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(f"{room.base}/hands/{last}/move", {"position": 0})).status_code == status
    assert (await room.chair.post(f"{room.base}/hands/{uuid.uuid4()}/move", {"position": 0})).status_code == 404
    for bad in ({"position": -1}, {}, {"position": "first"}):
        response = await room.chair.post(f"{room.base}/hands/{last}/move", bad)
        assert response.status_code in (400, 422), (bad, response.text)

    moved = await room.ok(room.chair, f"/hands/{last}/move", {"position": 0})
    queue = moved["queue"]
    assert queue[0]["id"] == last
    assert queue[0]["moved_by_chair"] is True
    assert [h["moved_by_chair"] for h in queue[1:]] == [False, False]
    for who in (room.member, room.family):
        seen = (await room.state(who))["queue"]
        assert (seen[0]["id"], seen[0]["moved_by_chair"]) == (last, True)

    given = await room.ok(room.chair, "/floor/next")
    assert given["speaker_id"] == room.family.id, "the chair's placement beats the rules"


async def test_a_round_queues_every_present_agency_once(room: Room) -> None:
    await room.live(room.member, room.lead, room.family)
    item = await room.add_item("Views on the plan")
    await room.open_item(item)
    await room.raise_hand(room.member)
    for who, status in ((room.member, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/round")).status_code == status

    queued = await room.ok(room.chair, "/round")
    assert queued == {"queued": 2}, "school already has a hand up; the chair does not queue themself"
    queue = (await room.state())["queue"]
    users = [h["user"]["id"] for h in queue]
    assert sorted(users) == sorted([room.member.id, room.lead.id, room.family.id])
    assert len({h["agency_id"] for h in queue}) == len(queue) == 3
    assert all(h["kind"] == "contribution" for h in queue)
    assert {h["user"]["id"]: h["raised_by_chair"] for h in queue} == {
        room.member.id: False,
        room.lead.id: True,
        room.family.id: True,
    }

    assert {h["user"]["id"]: h["by_round"] for h in queue} == {
        room.member.id: False,
        room.lead.id: True,
        room.family.id: True,
    }

    again = await room.chair.post(room.base + "/round")
    assert again.status_code == 409, "nobody is queued twice, and the round says it added nobody"
    assert again.json()["code"] == "round_adds_nobody"
    assert len((await room.state())["queue"]) == 3


# --- the floor ----------------------------------------------------------------------------


async def test_floor_next_follows_the_equal_voice_rules(room: Room) -> None:
    early = await room.chair.post(room.base + "/floor/next")
    assert early.status_code == 409, early.text

    await room.live(room.member, room.lead)
    empty = await room.chair.post(room.base + "/floor/next")
    assert empty.status_code == 409, empty.text
    for who, status in ((room.member, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/floor/next")).status_code == status

    item = await room.add_item("Health update")
    await room.open_item(item)
    state = await room.state()
    assert agency_ids(state["not_yet_heard"]) == {
        str(room.member.user.agency_id),
        str(room.lead.user.agency_id),
    }, "the chair is no voice of their own unless they speak for an agency"

    await room.speak(room.member)  # school has now been heard on this item
    state = await room.state()
    assert str(room.member.user.agency_id) not in agency_ids(state["not_yet_heard"])
    assert str(room.lead.user.agency_id) in agency_ids(state["not_yet_heard"])

    # the member raises first, the lead second: the lead, unheard on the item, goes first
    await room.raise_hand(room.member)
    await room.raise_hand(room.lead)
    queue = (await room.state())["queue"]
    assert [h["user"]["id"] for h in queue] == [room.lead.id, room.member.id]

    stale = state["version"] + 1  # two hands have gone up since
    conflict = await room.chair.post(room.base + "/floor/next", {"version": stale})
    assert conflict.status_code == 409, conflict.text
    assert (await room.state())["speaker"] is None

    current = (await room.state())["version"]
    given = await room.chair.post(room.base + "/floor/next", {"version": current})
    assert given.status_code == 200, given.text
    assert given.json() == {"speaker_id": room.lead.id}
    state = await room.state()
    assert state["version"] == current + 1
    assert state["speaker"]["user"]["id"] == room.lead.id
    assert state["speaker"]["since"] is not None
    assert [h["user"]["id"] for h in state["queue"]] == [room.member.id]
    assert agency_ids(state["not_yet_heard"]) == set(), "the lead is being heard; the chair is no voice"

    # next: the lead's turn ends, the member gets the floor
    assert (await room.ok(room.chair, "/floor/next")) == {"speaker_id": room.member.id}
    # nobody waits: the turn ends and nobody has the floor
    assert (await room.ok(room.chair, "/floor/next")) == {"speaker_id": None}
    state = await room.state()
    assert state["speaker"] is None
    assert (await room.chair.post(room.base + "/floor/next")).status_code == 409


async def test_the_agency_with_less_speaking_time_goes_first(room: Room) -> None:
    """Both have spoken on the item: the agency that has had less time in the meeting goes first."""
    await room.live(room.member, room.lead)
    item = await room.add_item("Health update")
    await room.open_item(item)
    await room.raise_hand(room.member)
    await room.ok(room.chair, "/floor/next")
    await room.raise_hand(room.lead)
    # the member speaks for a while; the lead's turn is short
    await asyncio.sleep(0.3)
    assert (await room.ok(room.chair, "/floor/next")) == {"speaker_id": room.lead.id}
    await room.ok(room.chair, "/floor/end")
    await room.raise_hand(room.member)
    await room.raise_hand(room.lead)
    assert (await room.ok(room.chair, "/floor/next")) == {"speaker_id": room.lead.id}


async def test_ending_a_turn(room: Room) -> None:
    await room.live(room.member, room.lead, room.family)
    nobody = await room.chair.post(room.base + "/floor/end")
    assert nobody.status_code == 409, nobody.text

    await room.raise_hand(room.member)
    await room.ok(room.chair, "/floor/next")
    for who, status in ((room.lead, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/floor/end")).status_code == status, who.user.email
    assert (await room.state())["speaker"]["user"]["id"] == room.member.id

    assert (await room.ok(room.member, "/floor/end")) == {"ended": True}, "the speaker ends their own turn"
    assert (await room.state())["speaker"] is None
    assert (await room.member.post(room.base + "/floor/end")).status_code == 409

    await room.raise_hand(room.family)
    await room.ok(room.chair, "/floor/next")
    await room.ok(room.chair, "/floor/end")
    assert (await room.state())["speaker"] is None


async def test_speaking_time_and_not_yet_heard(room: Room) -> None:
    await room.live(room.member, room.lead, room.family)
    item = await room.add_item("Health update")
    await room.open_item(item)
    await room.raise_hand(room.family)
    await room.ok(room.chair, "/floor/next")
    await asyncio.sleep(0.25)
    await room.ok(room.chair, "/floor/end")

    state = await room.state()
    by_agency = {e["agency"]["id"]: e["seconds"] for e in state["speaking_time"]["by_agency"]}
    by_person = {e["user"]["id"]: e["seconds"] for e in state["speaking_time"]["by_person"]}
    family_agency = str(room.family.user.agency_id)
    assert by_agency.get(family_agency, 0) >= 0.2
    assert by_person.get(room.family.id, 0) >= 0.2
    assert by_agency.get(family_agency, 0) < 30
    assert all(seconds == 0 for agency, seconds in by_agency.items() if agency != family_agency)
    assert family_agency not in agency_ids(state["not_yet_heard"])
    assert agency_ids(state["not_yet_heard"]) == {str(p.user.agency_id) for p in (room.member, room.lead)}
    for entry in state["not_yet_heard"]:
        assert set(entry) >= {"id", "name"}

    # a new item: everyone present is unheard again, the meeting's time is kept
    other = await room.add_item("School")
    state = await room.ok(room.chair, f"/agenda/{other}/open")
    assert family_agency in agency_ids(state["not_yet_heard"])
    assert {e["agency"]["id"]: e["seconds"] for e in state["speaking_time"]["by_agency"]}[family_agency] >= 0.2
    # someone who left is no longer among the present agencies not yet heard
    await room.ok(room.lead, "/leave")
    assert str(room.lead.user.agency_id) not in agency_ids((await room.state())["not_yet_heard"])


# --- decisions and actions ----------------------------------------------------------------


async def test_recording_a_decision(room: Room) -> None:
    item = await room.add_item("Health update")
    body: dict[str, Any] = {"agenda_item_id": item, "text": "Refer to CAMHS", "outcome": "agreed", "positions": []}
    early = await room.chair.post(room.base + "/decisions", body)
    assert early.status_code == 409, early.text
    await room.live(room.member)
    await room.open_item(item)

    school = str(room.member.user.agency_id)
    health = str(room.lead.user.agency_id)
    family = str(room.family.user.agency_id)
    police = str(room.outsider.user.agency_id)
    for who, status in ((room.member, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/decisions", body)).status_code == status

    bad_bodies = [
        {**body, "positions": [{"agency_id": school, "position": "disagree"}]},
        {**body, "positions": [{"agency_id": school, "position": "disagree", "reason": "   "}]},
        {**body, "positions": [{"agency_id": police, "position": "agree"}]},
        {**body, "positions": [{"agency_id": str(uuid.uuid4()), "position": "agree"}]},
        {**body, "positions": [{"agency_id": school, "position": "maybe"}]},
        {
            **body,
            "positions": [{"agency_id": school, "position": "agree"}, {"agency_id": school, "position": "abstain"}],
        },
        {**body, "outcome": "sort_of"},
        {**body, "text": "  "},
        {**body, "agenda_item_id": str(uuid.uuid4())},
    ]
    for bad in bad_bodies:
        response = await room.chair.post(room.base + "/decisions", bad)
        assert response.status_code == 422, (bad, response.text)
    for malformed in ({**body, "agenda_item_id": "nope"}, {"text": "x", "outcome": "agreed"}):
        response = await room.chair.post(room.base + "/decisions", malformed)
        assert response.status_code in (400, 422), (malformed, response.text)
    assert (await room.state())["decisions"] == []

    good = {
        **body,
        "outcome": "not_agreed",
        "positions": [
            {"agency_id": school, "position": "agree"},
            {"agency_id": health, "position": "disagree", "reason": "Waiting list too long"},
            {"agency_id": family, "position": "abstain"},
        ],
    }
    response = await room.chair.post(room.base + "/decisions", good)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["outcome"] == "not_agreed"
    assert made["agenda_item_id"] == item
    decisions = (await room.state(room.member))["decisions"]
    assert [d["id"] for d in decisions] == [made["id"]]
    [decision] = decisions
    assert decision["text"] == "Refer to CAMHS"
    assert decision["agenda_item_id"] == item
    assert {p["agency_id"]: (p["position"], p["reason"]) for p in decision["positions"]} == {
        school: ("agree", None),
        health: ("disagree", "Waiting list too long"),
        family: ("abstain", None),
    }
    assert [d["id"] for d in (await room.state(room.family))["decisions"]] == [made["id"]]


async def test_assigning_an_action(room: Room) -> None:
    item = await room.add_item("Health update")
    tomorrow = (today_local() + timedelta(days=1)).isoformat()
    body = {
        "title": "Book a hearing test",
        "owner_id": room.lead.id,
        "due_date": tomorrow,
        "outcome_area": "being_healthy",
    }
    assert (await room.chair.post(room.base + "/actions", body)).status_code == 409, "not before the start"
    await room.live(room.member)
    await room.open_item(item)
    for who, status in ((room.member, 403), (room.lead, 403), (room.family, 403), (room.outsider, 404)):
        assert (await who.post(room.base + "/actions", body)).status_code == status

    yesterday = (today_local() - timedelta(days=1)).isoformat()
    for bad in (
        {**body, "due_date": yesterday},
        {**body, "owner_id": room.outsider.id},
        {**body, "owner_id": str(uuid.uuid4())},
        {**body, "outcome_area": "being_rich"},
        {**body, "title": "  "},
        {**body, "agenda_item_id": str(uuid.uuid4())},
        {**body, "decision_id": str(uuid.uuid4())},
        {**body, "agency_id": str(room.outsider.user.agency_id)},
    ):
        response = await room.chair.post(room.base + "/actions", bad)
        assert response.status_code == 422, (bad, response.text)
    for malformed in ({**body, "due_date": "next week"}, {**body, "owner_id": "x"}, {"title": "x"}):
        response = await room.chair.post(room.base + "/actions", malformed)
        assert response.status_code in (400, 422), (malformed, response.text)
    assert (await room.state())["actions"] == []

    response = await room.chair.post(room.base + "/actions", body)
    assert response.status_code == 201, response.text
    action = response.json()
    assert action["owner_id"] == room.lead.id
    assert action["agency_id"] == str(room.lead.user.agency_id), "the owner's agency"
    assert action["due_date"] == tomorrow
    assert action["outcome_area"] == "being_healthy"
    assert action["agenda_item_id"] == item, "filed under the open item"
    assert action["meeting_id"] == str(room.team.meeting.id)
    assert action["status"] == "open"
    today = await room.ok(room.chair, "/actions", {**body, "due_date": today_local().isoformat()}, 201)
    assert today["overdue"] is False, "due today is allowed"

    state = await room.state(room.member)
    assert [a["id"] for a in state["actions"]] == [action["id"], today["id"]]
    assert state["actions"][0]["owner"]["id"] == room.lead.id

    decision = await room.ok(
        room.chair, "/decisions", {"agenda_item_id": item, "text": "Hearing", "outcome": "agreed"}, 201
    )
    linked = await room.ok(room.chair, "/actions", {**body, "decision_id": decision["id"]}, 201)
    assert linked["decision_id"] == decision["id"]
    assert linked["agenda_item_id"] == item


# --- the state ----------------------------------------------------------------------------


async def test_the_state_is_for_members_only(room: Room) -> None:
    for who in (room.chair, room.member, room.lead, room.family):
        state = await room.state(who)
        assert state["id"] == str(room.team.meeting.id)
        assert state["case_id"] == str(room.team.case.id)
        assert state["status"] == "scheduled"
        assert state["chair"]["id"] == room.chair.id
        assert isinstance(state["version"], int)
        for key in (
            "title",
            "agenda",
            "speaker",
            "queue",
            "not_yet_heard",
            "speaking_time",
            "attendance",
            "decisions",
            "actions",
        ):
            assert key in state, key
        assert set(state["speaking_time"]) >= {"by_agency", "by_person"}
    outsider = await room.outsider.get(room.base)
    assert outsider.status_code == 404
    assert outsider.json() == {"status_code": 404, "detail": "No such meeting.", "code": "not_found"}
    assert (await room.chair.get(f"/api/meetings/{uuid.uuid4()}")).status_code == 404
    assert (await room.anonymous.get(room.base)).status_code == 401
    assert (await room.chair.get("/api/meetings/not-a-uuid")).status_code in (400, 404)


async def test_every_change_raises_the_version_by_one(room: Room) -> None:
    versions = [(await room.state())["version"]]
    item = await room.add_item("Health update")
    versions.append((await room.state())["version"])
    await room.ok(room.chair, "/start")
    versions.append((await room.state())["version"])
    await room.ok(room.member, "/join")
    versions.append((await room.state())["version"])
    await room.open_item(item)
    versions.append((await room.state())["version"])
    await room.raise_hand(room.member)
    versions.append((await room.state())["version"])
    await room.ok(room.chair, "/floor/next")
    versions.append((await room.state())["version"])
    assert versions == list(range(versions[0], versions[0] + len(versions)))
    # a refused change leaves the version alone
    assert (await room.member.post(room.base + "/floor/next")).status_code == 403
    assert (await room.chair.post(room.base + "/start")).status_code == 409
    assert (await room.state())["version"] == versions[-1]


async def test_the_family_never_sees_a_professionals_only_item(room: Room) -> None:
    await room.live(room.member, room.lead, room.family)
    public = await room.add_item("Family's views")
    secret = await room.add_item(f"Police intelligence {MARKER}", professionals_only=True, minutes=f"minutes {MARKER}")
    await room.open_item(public)
    await room.ok(
        room.chair,
        "/decisions",
        {"agenda_item_id": public, "text": "Family to attend clinic", "outcome": "agreed"},
        201,
    )

    await room.open_item(secret)
    await room.raise_hand(room.lead)
    await room.ok(room.chair, "/floor/next")  # the lead speaks on the secret item
    family_view = await room.state(room.family)
    assert family_view["open_item_id"] is None
    assert family_view["speaker"] is None
    await room.raise_hand(room.member)
    tomorrow = (today_local() + timedelta(days=3)).isoformat()
    decision = await room.ok(
        room.chair,
        "/decisions",
        {
            "agenda_item_id": secret,
            "text": f"Share {MARKER} with the school",
            "outcome": "agreed",
            "positions": [
                {"agency_id": str(room.member.user.agency_id), "position": "disagree", "reason": f"why {MARKER}"}
            ],
        },
        201,
    )
    actions = [
        # under the open (secret) item by default
        {"title": f"Check {MARKER} records", "owner_id": room.member.id},
        # under the secret item by its decision
        {"title": f"Follow {MARKER} up", "owner_id": room.lead.id, "decision_id": decision["id"]},
        # named explicitly
        {"title": f"Visit {MARKER}", "owner_id": room.lead.id, "agenda_item_id": secret},
    ]
    for action in actions:
        await room.ok(room.chair, "/actions", {**action, "due_date": tomorrow, "outcome_area": "staying_safe"}, 201)
    await room.ok(room.chair, "/floor/next")  # the member speaks on it too

    chair_text = json.dumps(await room.state(room.chair))
    member_text = json.dumps(await room.state(room.member))
    assert chair_text.count(MARKER) >= 6
    assert member_text.count(MARKER) >= 6

    family_state = await room.state(room.family)
    family_text = json.dumps(family_state)
    assert MARKER not in family_text
    assert secret not in family_text
    assert decision["id"] not in family_text
    assert [i["id"] for i in family_state["agenda"] if not i["is_child_voice"]] == [public]
    assert [d["text"] for d in family_state["decisions"]] == ["Family to attend clinic"]
    assert family_state["actions"] == []
    assert family_state["queue"] == []
    assert family_state["speaker"] is None
    # the responses of the chair's own calls are for the chair; the family's GET stays clean
    # after the secret item is closed by opening another one
    back = await room.ok(room.chair, f"/agenda/{public}/open")
    assert MARKER in json.dumps(back)
    family_state = await room.state(room.family)
    assert MARKER not in json.dumps(family_state)
    assert family_state["open_item_id"] == public
