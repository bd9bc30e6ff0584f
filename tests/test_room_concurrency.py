"""The live room under concurrent requests, against real PostgreSQL: two chairs' tabs giving the
floor at once, a crowd raising hands in the same millisecond, one person's double click, and a
burst of changes whose versions must never repeat.

Requests go through the app in this event loop (each person with their own client) or straight
to the services, each call with its own AsyncSession from runtime.sessionmaker()."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.errors import Conflict
from server.live.events import MeetingChanged, NoPublisher
from server.meetings import room as room_ops
from server.meetings.models import Hand, Meeting
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import FloorNext, NewHand
from server.people import service as people
from server.people.models import Agency, Sector, User
from server.platform.db import utcnow
from server.platform.runtime import Runtime
from tests.support import SYSTEM, Team, csrf, room_as, sign_in, without_childs_voice


class RecordingPublisher(NoPublisher):
    """Keeps every change the services announce after their commits."""

    def __init__(self) -> None:
        self.changes: list[MeetingChanged] = []

    async def meeting_changed(self, change: MeetingChanged) -> None:
        self.changes.append(change)


@dataclass
class Crowd:
    """The team plus `size` more professionals on the case, each with an API-token client."""

    team: Team
    users: list[User]
    clients: list[httpx.AsyncClient]
    chair_tabs: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"/api/meetings/{self.team.meeting.id}"


async def _agencies(runtime: Runtime) -> list[Agency]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(select(Agency).where(Agency.sector != Sector.FAMILY).order_by(Agency.name))
        return list(rows)


@pytest.fixture
async def make_crowd(app: Litestar, runtime: Runtime, team: Team) -> AsyncIterator[Any]:
    opened: list[httpx.AsyncClient] = []

    def http(headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000 + len(opened)))
        opened.append(httpx.AsyncClient(transport=transport, base_url="http://testserver.local", headers=headers))
        return opened[-1]

    async def make(size: int, *, chair_tabs: int = 0, join: bool = True) -> Crowd:
        agencies = await _agencies(runtime)
        users: list[User] = []
        tokens: list[str] = []
        async with runtime.sessionmaker() as session:
            for n in range(size):
                agency = agencies[n % len(agencies)]
                user = await people.create_user(
                    session, SYSTEM, people.NewUser(f"p{n}@crowd.example", f"Person {n}", agency.id, None)
                )
                await cases.add_member(
                    Caller(session, team.chair, SYSTEM, runtime.settings, NoPublisher()),
                    team.case.id,
                    user.id,
                    "professional",
                )
                _, secret = await people.create_api_token(session, Actor(user.id), user, "tests")
                users.append(user)
                tokens.append(secret)
        clients = [http({"Authorization": f"Bearer {secret}"}) for secret in tokens]
        crowd = Crowd(team, users, clients)
        for _ in range(chair_tabs):
            tab = http()
            await sign_in(tab, team.chair)
            crowd.chair_tabs.append(tab)
        if chair_tabs:
            started = await crowd.chair_tabs[0].post(crowd.base + "/start", headers=csrf(crowd.chair_tabs[0]))
            assert started.status_code == 200, started.text
        else:
            async with runtime.sessionmaker() as session:
                await room_as(runtime, session, team.chair).run(room_ops.start, team.meeting.id)
        if join:
            joined = await asyncio.gather(*(c.post(crowd.base + "/join") for c in clients))
            assert [r.status_code for r in joined] == [200] * size, [r.text for r in joined]
        return crowd

    yield make
    for each in opened:
        await each.aclose()


async def scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    async with runtime.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def rows(runtime: Runtime, sql: str, **params: Any) -> list[Any]:
    async with runtime.engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


async def assert_floor_consistent(runtime: Runtime, meeting_id: uuid.UUID) -> None:
    """At most one open turn; no hand taken by two turns; every taken hand has exactly one turn."""
    open_turns = await scalar(
        runtime, "SELECT count(*) FROM turns WHERE ended_at IS NULL AND meeting_id = :m", m=meeting_id
    )
    assert open_turns <= 1
    doubly_taken = await rows(
        runtime,
        "SELECT hand_id FROM turns WHERE meeting_id = :m AND hand_id IS NOT NULL GROUP BY hand_id HAVING count(*) > 1",
        m=meeting_id,
    )
    assert doubly_taken == []
    mismatched = await rows(
        runtime,
        """SELECT h.id, h.state, count(t.id) FROM hands h LEFT JOIN turns t ON t.hand_id = h.id
           WHERE h.meeting_id = :m GROUP BY h.id, h.state
           HAVING (h.state = 'taken') <> (count(t.id) = 1)""",
        m=meeting_id,
    )
    assert mismatched == []


# --- (a) two chairs give the floor at the same instant -----------------------------------------


async def test_two_chair_tabs_giving_the_floor_at_once(make_crowd: Any, runtime: Runtime) -> None:
    crowd: Crowd = await make_crowd(6, chair_tabs=2)
    meeting_id = crowd.team.meeting.id
    tabs = crowd.chair_tabs
    chooser = random.Random(20240611)
    for round_number in range(20):
        # a different queue each time: some people, some kinds, some already waiting
        for index in chooser.sample(range(len(crowd.clients)), chooser.randint(0, 4)):
            kind = chooser.choice(["contribution", "contribution", "point_of_order"])
            response = await crowd.clients[index].post(crowd.base + "/hands", json={"kind": kind})
            assert response.status_code in (201, 409), response.text
        waiting_before = await scalar(
            runtime, "SELECT count(*) FROM hands WHERE meeting_id = :m AND state = 'waiting'", m=meeting_id
        )
        open_before = await scalar(
            runtime, "SELECT count(*) FROM turns WHERE ended_at IS NULL AND meeting_id = :m", m=meeting_id
        )
        turns_before = await scalar(runtime, "SELECT count(*) FROM turns WHERE meeting_id = :m", m=meeting_id)
        body: dict[str, Any] = {}
        with_version = round_number % 3 == 2
        if with_version:  # both tabs act on the version they both show
            state = (await tabs[0].get(crowd.base)).json()
            body = {"version": state["version"]}

        responses = await asyncio.gather(
            *(tab.post(crowd.base + "/floor/next", json=body, headers=csrf(tab)) for tab in tabs)
        )
        statuses = sorted(r.status_code for r in responses)
        assert all(s in (200, 409) for s in statuses), [r.text for r in responses]
        given = [r.json()["speaker_id"] for r in responses if r.status_code == 200 and r.json()["speaker_id"]]
        turns_after = await scalar(runtime, "SELECT count(*) FROM turns WHERE meeting_id = :m", m=meeting_id)
        assert turns_after - turns_before == len(given), "one new turn per floor given"
        if with_version:
            assert statuses == [200, 409], "only one of two tabs on the same version acts"
        elif waiting_before >= 2:
            assert statuses == [200, 200]
            assert len(given) == 2
        elif waiting_before == 0 and open_before == 0:
            assert statuses == [409, 409]
        await assert_floor_consistent(runtime, meeting_id)
        open_turns = await scalar(
            runtime, "SELECT count(*) FROM turns WHERE ended_at IS NULL AND meeting_id = :m", m=meeting_id
        )
        state = (await tabs[1].get(crowd.base)).json()
        assert open_turns == (0 if state["speaker"] is None else 1)
        if state["speaker"] is not None:
            assert state["speaker"]["user"]["id"] in given, "whoever speaks was given the floor just now"
        elif given:
            assert statuses == [200, 200], "a turn given and then ended by the other tab"


async def test_two_sessions_giving_the_floor_on_the_same_version(make_crowd: Any, runtime: Runtime) -> None:
    """Straight to the service, two AsyncSessions: exactly one call acts, the other is told."""
    crowd: Crowd = await make_crowd(5)
    team = crowd.team
    for attempt in range(10):
        await asyncio.gather(
            *(c.post(crowd.base + "/hands", json={"kind": "contribution"}) for c in crowd.clients[attempt % 2 :: 2])
        )
        async with runtime.sessionmaker() as session:
            version = await session.scalar(select(Meeting.version).where(Meeting.id == team.meeting.id))

        async def give(version: int = version) -> Any:
            async with runtime.sessionmaker() as session:
                try:
                    return await room_as(runtime, session, team.chair).run(
                        room_ops.floor_next, team.meeting.id, FloorNext(version=version)
                    )
                except Conflict as conflict:
                    return conflict

        results = await asyncio.gather(give(), give())
        assert sum(isinstance(r, Conflict) for r in results) == 1, results
        await assert_floor_consistent(runtime, team.meeting.id)


# --- (b) a crowd raises hands in the same millisecond --------------------------------------------


async def test_twenty_hands_in_the_same_millisecond(make_crowd: Any, runtime: Runtime) -> None:
    crowd: Crowd = await make_crowd(20)
    start = asyncio.Event()

    async def raise_hand(client: httpx.AsyncClient) -> httpx.Response:
        await start.wait()
        return await client.post(crowd.base + "/hands", json={"kind": "contribution"})

    tasks = [asyncio.create_task(raise_hand(c)) for c in crowd.clients]
    await asyncio.sleep(0)
    start.set()
    responses = await asyncio.gather(*tasks)
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    hand_ids = {r.json()["id"] for r in responses}
    assert len(hand_ids) == 20
    assert {r.json()["user_id"] for r in responses} == {str(u.id) for u in crowd.users}

    recorded = await rows(
        runtime,
        "SELECT id, user_id FROM hands WHERE meeting_id = :m AND state = 'waiting'",
        m=crowd.team.meeting.id,
    )
    assert len(recorded) == 20
    assert {str(r.id) for r in recorded} == hand_ids

    first = (await crowd.clients[0].get(crowd.base)).json()["queue"]
    second = (await crowd.clients[7].get(crowd.base)).json()["queue"]
    assert [h["id"] for h in first] == [h["id"] for h in second], "the same order for everyone, every time"
    assert sorted(h["id"] for h in first) == sorted(hand_ids), "every hand once"
    assert [h["position"] for h in first] == list(range(20))
    # nobody has spoken: the rules reduce to who raised first, the hand id breaking ties
    keys = [(datetime.fromisoformat(h["raised_at"]), uuid.UUID(h["id"])) for h in first]
    assert keys == sorted(keys)


# --- (c) one person raises the same kind twice at once -------------------------------------------


async def test_a_double_click_raises_one_hand(make_crowd: Any, runtime: Runtime) -> None:
    crowd: Crowd = await make_crowd(3)
    meeting_id = crowd.team.meeting.id
    person, client = crowd.users[0], crowd.clients[0]
    for kind in ("contribution", "point_of_order", "contribution", "point_of_order"):
        responses = await asyncio.gather(*(client.post(crowd.base + "/hands", json={"kind": kind}) for _ in range(3)))
        assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 409):
            assert refused.json()["status_code"] == 409
        waiting = await scalar(
            runtime,
            "SELECT count(*) FROM hands WHERE meeting_id = :m AND user_id = :u AND kind = :k AND state = 'waiting'",
            m=meeting_id,
            u=person.id,
            k=kind,
        )
        assert waiting == 1
        lowered = await client.delete(crowd.base + "/hands/mine", params={"kind": kind})
        assert lowered.status_code == 200, lowered.text


async def test_the_chair_and_the_person_raise_the_same_hand_at_once(make_crowd: Any, runtime: Runtime) -> None:
    crowd: Crowd = await make_crowd(2, chair_tabs=1)
    chair = crowd.chair_tabs[0]
    person = crowd.users[1]
    responses = await asyncio.gather(
        crowd.clients[1].post(crowd.base + "/hands", json={"kind": "contribution"}),
        chair.post(
            crowd.base + "/hands", json={"kind": "contribution", "user_id": str(person.id)}, headers=csrf(chair)
        ),
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    waiting = await scalar(
        runtime,
        "SELECT count(*) FROM hands WHERE meeting_id = :m AND user_id = :u AND state = 'waiting'",
        m=crowd.team.meeting.id,
        u=person.id,
    )
    assert waiting == 1


async def test_the_database_refuses_a_second_waiting_hand_of_a_kind(make_crowd: Any, runtime: Runtime) -> None:
    """The partial unique index is the last line of defence, whatever a service does."""
    crowd: Crowd = await make_crowd(1)
    person = crowd.users[0]

    def hand(state: str = "waiting", kind: str = "contribution") -> Hand:
        return Hand(
            meeting_id=crowd.team.meeting.id,
            user_id=person.id,
            agency_id=person.agency_id,
            kind=kind,
            state=state,
            raised_at=utcnow(),
        )

    async with runtime.sessionmaker() as session:
        session.add(hand())
        await session.commit()
    async with runtime.sessionmaker() as session:
        session.add(hand())
        with pytest.raises(IntegrityError):
            await session.commit()
    async with runtime.sessionmaker() as session:  # other kinds and resolved hands are fine
        session.add_all([hand(kind="point_of_order"), hand(state="lowered"), hand(state="taken")])
        await session.commit()


# --- (d) versions across a burst of changes --------------------------------------------------------


async def test_fifty_concurrent_changes_get_fifty_distinct_versions(make_crowd: Any, runtime: Runtime) -> None:
    crowd: Crowd = await make_crowd(20, join=False)
    team = crowd.team
    await without_childs_voice(runtime, team.meeting.id)
    publisher = RecordingPublisher()
    async with runtime.sessionmaker() as session:
        before = await session.scalar(select(Meeting.version).where(Meeting.id == team.meeting.id))
    audit_before = await scalar(runtime, "SELECT count(*) FROM audit_events WHERE meeting_id = :m", m=team.meeting.id)

    async def call(command: Any, user: User, body: Any = None) -> Any:
        async with runtime.sessionmaker() as session:
            return await room_as(runtime, session, user, publisher).run(command, team.meeting.id, body)

    changes = (
        [call(room_ops.join, user) for user in crowd.users]
        + [call(room_ops.add_item, team.chair, NewItem(f"Item {n}")) for n in range(20)]
        + [call(room_ops.raise_hand, team.chair, NewHand(user_id=team.member.id))]
        + [call(room_ops.join, team.lead), call(room_ops.join, team.family), call(room_ops.join, team.member)]
        + [call(room_ops.raise_hand, team.chair, NewHand("point_of_order", user.id)) for user in crowd.users[:6]]
    )
    assert len(changes) == 50
    random.Random(7).shuffle(changes)
    results = await asyncio.gather(*changes, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]

    versions = [c.version for c in publisher.changes]
    assert len(versions) == 50
    assert sorted(versions) == list(range(before + 1, before + 51)), "no version repeats, none is skipped"
    assert {c.meeting_id for c in publisher.changes} == {team.meeting.id}
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(Meeting.version).where(Meeting.id == team.meeting.id)) == before + 50
    audit_after = await scalar(runtime, "SELECT count(*) FROM audit_events WHERE meeting_id = :m", m=team.meeting.id)
    assert audit_after - audit_before == 50, "every change is on the audit trail once"
    positions = await rows(
        runtime, "SELECT position FROM agenda_items WHERE meeting_id = :m ORDER BY position", m=team.meeting.id
    )
    assert [p.position for p in positions] == list(range(20)), "the lock keeps agenda positions distinct"
