"""A change made in this process has its messages rendered while its COMMIT is on the way
(server/live/feed.py ``render_ahead``, server/platform/db.py ``commit_while``): the sockets must
get exactly what the feed would have rendered after the commit, afresh when the room moved on
meanwhile, and nothing at all from a change whose commit failed."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from server.live.clients import Client
from server.live.events import MeetingChanged, NoPublisher
from server.live.feed import FeedContext, MeetingFeed
from server.live.regions import PRESENCE_REGIONS, Region, regions_for
from server.live.render import region_html
from server.meetings import room as ops
from server.meetings.room.agenda import NewItem
from server.meetings.state import Audience, Room, view_for
from server.platform.db import transaction, utcnow
from server.platform.runtime import Runtime
from tests.support import Team, room_as

SERVER_NOW = re.compile(r' data-server-now="[^"]*"')  # the moment it was rendered, for the clocks


class Here:
    """Who is connected, as presence would say (Redis in the hub)."""

    def __init__(self) -> None:
        self.people: frozenset[uuid.UUID] = frozenset()

    async def __call__(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return self.people


class ThisProcess(NoPublisher):
    """The hub's part in a change, for one feed: what it holds, renders ahead and hears."""

    def __init__(self, feed: MeetingFeed) -> None:
        self.feed = feed
        self.changes: list[MeetingChanged] = []

    def room_now(self, meeting_id: uuid.UUID) -> Room | None:
        return self.feed.room

    async def render_ahead(self, change: MeetingChanged) -> MeetingChanged:
        return await self.feed.render_ahead(change)

    async def meeting_changed(self, change: MeetingChanged) -> None:
        self.changes.append(change)
        self.feed.hear(change)


def socket(team: Team, audience: Audience, sent: list[str]) -> Client:
    async def send(payload: str) -> None:
        sent.append(payload)

    async def close(code: int, reason: str) -> None:
        return None

    user = team.chair if audience is Audience.CHAIR else team.family
    return Client(team.meeting.id, team.case.id, user.id, None, audience, False, send, close)


async def settled(sent: list[str], count: int) -> list[str]:
    async with asyncio.timeout(5):
        while len(sent) < count:
            await asyncio.sleep(0.01)
    return sent


@dataclass
class Scene:
    app: Litestar
    runtime: Runtime
    team: Team
    feed: MeetingFeed
    here: Here
    sent: dict[Audience, list[str]]  # what each socket was sent, in order


@pytest.fixture
async def scene(app: Litestar, runtime: Runtime, team: Team) -> AsyncIterator[Scene]:
    """A feed of the team's meeting holding its room, with a chair's and the family's socket,
    each of which has had the whole room."""
    here = Here()
    feed = MeetingFeed(team.meeting.id, FeedContext(runtime.sessionmaker, app.template_engine.engine, here))  # type: ignore[union-attr]
    sent: dict[Audience, list[str]] = {Audience.CHAIR: [], Audience.FAMILY: []}
    for audience, messages in sent.items():
        client = socket(team, audience, messages)
        client.start()
        feed.add(client)
    await feed.step()
    for messages in sent.values():
        await settled(messages, 1)
    yield Scene(app, runtime, team, feed, here, sent)
    for client in feed.clients:
        await client.stop()


def rendered_after(
    app: Litestar, room: Room, audience: Audience, regions: frozenset[Region], connected: frozenset[uuid.UUID]
) -> str:
    """What the feed renders for ``room`` after the commit, without the moment it was rendered."""
    view = view_for(room, audience, utcnow(), connected)
    return SERVER_NOW.sub("", region_html(app.template_engine.engine, view, regions))  # type: ignore[union-attr]


async def an_item_added(scene: Scene) -> MeetingChanged:
    """The chair adds an agenda item in this process: the one change its feed heard."""
    runtime, team, publisher = scene.runtime, scene.team, ThisProcess(scene.feed)
    async with runtime.sessionmaker() as session:
        await room_as(runtime, session, team.chair, publisher).run(ops.add_item, team.meeting.id, NewItem("School"))
    (change,) = publisher.changes
    return change


async def test_a_change_sends_what_was_rendered_while_it_committed(scene: Scene) -> None:
    app, feed, sent = scene.app, scene.feed, scene.sent
    change = await an_item_added(scene)
    assert change.rendered is not None
    assert change.room is not None
    assert change.rendered.outgoing.regions == regions_for(change.kinds)
    # The family sees everything on this agenda, so one render serves them and the professionals.
    assert set(change.rendered.payloads) == {(Audience.CHAIR, False), (Audience.PROFESSIONALS, False)}
    await feed.step()
    chair, family = await settled(sent[Audience.CHAIR], 2), await settled(sent[Audience.FAMILY], 2)
    assert chair[1] == change.rendered.payloads[(Audience.CHAIR, False)]
    assert family[1] == change.rendered.payloads[(Audience.PROFESSIONALS, False)]
    assert "School" in chair[1]
    assert "School" in family[1]
    # Exactly what rendering the committed room after the commit gives.
    assert feed.room is change.room
    regions = change.rendered.outgoing.regions
    assert SERVER_NOW.sub("", chair[1]) == rendered_after(app, change.room, Audience.CHAIR, regions, frozenset())
    everyone = rendered_after(app, change.room, Audience.PROFESSIONALS, regions, frozenset())
    assert SERVER_NOW.sub("", family[1]) == everyone


async def test_someone_arriving_meanwhile_gets_the_room_rendered_afresh(scene: Scene) -> None:
    app, feed, here, sent = scene.app, scene.feed, scene.here, scene.sent
    change = await an_item_added(scene)
    assert change.rendered is not None
    here.people = frozenset({scene.team.family.id})  # the family's first socket opened before the feed sent
    feed.presence_changed()
    await feed.step()
    chair = (await settled(sent[Audience.CHAIR], 2))[1]
    assert change.room is not None
    assert 'id="region-people-title"' in chair
    regions = change.rendered.outgoing.regions | PRESENCE_REGIONS
    assert SERVER_NOW.sub("", chair) == rendered_after(app, change.room, Audience.CHAIR, regions, here.people)


async def test_a_change_that_commits_nothing_sends_nothing(scene: Scene) -> None:
    runtime, team, feed, sent = scene.runtime, scene.team, scene.feed, scene.sent
    publisher = ThisProcess(feed)
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair, publisher)
        await chair.run(ops.start, team.meeting.id)
        await feed.step()
        with pytest.raises(Exception, match="already under way"):
            await chair.run(ops.start, team.meeting.id)
    assert len(publisher.changes) == 1
    await feed.step()
    await asyncio.sleep(0.05)
    assert [len(messages) for messages in sent.values()] == [2, 2]


async def test_the_work_done_while_committing_is_dropped_when_the_commit_fails(runtime: Runtime) -> None:
    """A deferred constraint is checked at the COMMIT itself: the commit fails after the work
    ran, the error reaches the caller, and nothing of the transaction is kept."""
    async with runtime.sessionmaker() as session:
        await session.execute(text("DROP TABLE IF EXISTS commit_probe"))  # left by a run that died
        await session.execute(text("CREATE TABLE commit_probe (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
        await session.commit()
        try:
            ran: list[str] = []

            async def a_change_that_fails_at_its_commit() -> None:
                async with transaction(session) as tx:
                    await session.execute(text("INSERT INTO commit_probe VALUES (1), (1)"))

                    async def render() -> None:
                        ran.append("rendered")

                    await tx.commit_while(render)

            with pytest.raises(IntegrityError):
                await a_change_that_fails_at_its_commit()
            assert ran == ["rendered"]
            assert await session.scalar(select(func.count()).select_from(text("commit_probe"))) == 0
            async with transaction(session) as tx:
                await session.execute(text("INSERT INTO commit_probe VALUES (2)"))

                async def answer() -> str:
                    return "answer"

                assert await tx.commit_while(answer) == "answer"
            async with runtime.sessionmaker() as other:
                assert await other.scalar(text("SELECT count(*) FROM commit_probe")) == 1
        finally:
            await session.rollback()
            await session.execute(text("DROP TABLE commit_probe"))
            await session.commit()
