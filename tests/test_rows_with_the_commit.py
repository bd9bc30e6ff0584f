"""A change's rows go to the database with its commit, not one statement at a time before it:
new rows complete before their INSERT, stand-ins that write only what an effect set, the locked
meeting made the session's row without the ORM reading it back, and a unique index the commit
breaks refusing the change in words, as a check before it would have."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from server.errors import Conflict
from server.live.events import MeetingChanged
from server.meetings import room as ops
from server.meetings.models import Hand, Meeting, Turn
from server.meetings.reading import load_room
from server.meetings.room.floor import NewHand
from server.platform.rows import copy_row, filled, session_row, stand_in
from server.platform.runtime import Runtime
from tests.support import Recorder, Team, room_as

WRITES = ("INSERT INTO hands", "UPDATE hands", "INSERT INTO turns", "UPDATE turns")
COMMIT_BEGINS, COMMITTED = "-- the commit begins", "-- committed"


def columns(row: Any) -> dict[str, Any]:
    return {a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs}


def new_hand(team: Team) -> Hand:
    return Hand(meeting_id=team.meeting.id, user_id=team.member.id, agency_id=team.member.agency_id, kind="reply")


async def test_a_filled_new_row_is_copied_as_its_insert_will_write_it(runtime: Runtime, team: Team) -> None:
    async with runtime.sessionmaker() as session:
        unfilled = new_hand(team)
        session.add(unfilled)
        assert copy_row(unfilled) is None, "its id, state and time are not known before its INSERT"
        session.expunge(unfilled)
        hand = filled(new_hand(team))
        assert (hand.state, hand.by_round, hand.pinned_position) == ("waiting", False, None)
        assert isinstance(hand.id, uuid.UUID)
        assert hand.id != filled(new_hand(team)).id, "a new id each"
        session.add(hand)
        copy = copy_row(hand)
        await session.commit()
    assert copy is not None
    async with runtime.sessionmaker() as session:
        read = await session.get(Hand, hand.id)
        assert read is not None
        assert columns(copy) == columns(read)


def test_filling_keeps_what_the_row_was_given() -> None:
    hand = Hand(meeting_id=uuid.uuid4(), user_id=uuid.uuid4(), agency_id=uuid.uuid4(), kind="reply", state="taken")
    assert filled(hand).state == "taken"


async def test_a_stand_in_writes_only_what_was_set_on_it(runtime: Runtime, team: Team) -> None:
    async with runtime.sessionmaker() as session:
        hand = filled(new_hand(team))
        hand.pinned_position = 2
        session.add(hand)
        await session.commit()
    async with runtime.sessionmaker() as session:
        taken = stand_in(session, Hand, hand.id)
        assert inspect(taken).persistent
        assert "kind" not in inspect(taken).dict, "nothing was read"
        taken.state = "taken"
        await session.commit()
    async with runtime.sessionmaker() as session:
        read = await session.get(Hand, hand.id)
        assert read is not None
        assert columns(read) == columns(hand) | {"state": "taken"}
        assert stand_in(session, Hand, hand.id) is read, "the session's own row, when it has one"


async def test_a_stand_in_for_a_row_that_is_gone_fails_its_flush(runtime: Runtime, team: Team) -> None:
    async with runtime.sessionmaker() as session:
        stand_in(session, Turn, uuid.uuid4()).ended_at = None
        with pytest.raises(StaleDataError):
            await session.commit()


async def test_a_returned_meeting_row_becomes_the_sessions_own(runtime: Runtime, team: Team) -> None:
    async with runtime.sessionmaker() as session:
        read = await session.get(Meeting, team.meeting.id)
        assert read is not None
        values = columns(read)
        session.expunge(read)
        meeting = session_row(session, Meeting, values | {"title": "Core group"})
        assert inspect(meeting).persistent
        assert meeting.title == "Core group"
        assert not session.dirty, "as loaded, nothing to write"
        again = session_row(session, Meeting, values)
        assert again is meeting, "the session's own row"
        assert meeting.title == values["title"], "refreshed"
        meeting.location = "Room 4"
        await session.commit()
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(Meeting.location).where(Meeting.id == team.meeting.id)) == "Room 4"


class Holding(Recorder):
    """A process whose live feed holds the room and takes each change's."""

    async def meeting_changed(self, change: MeetingChanged) -> None:
        await super().meeting_changed(change)
        self.held = change.room


@pytest.mark.parametrize("held", [True, False], ids=["room held", "no room held"])
async def test_a_second_waiting_hand_is_refused_at_the_commit(runtime: Runtime, team: Team, held: bool) -> None:
    meeting = team.meeting.id
    async with runtime.sessionmaker() as session:
        await room_as(runtime, session, team.chair).run(ops.start, meeting)
        await room_as(runtime, session, team.member).run(ops.join, meeting)
        room = await load_room(session, meeting) if held else None
    publisher = Holding(room)
    async with runtime.sessionmaker() as session:
        member = room_as(runtime, session, team.member, publisher)
        await member.run(ops.raise_hand, meeting, NewHand())
        with pytest.raises(Conflict) as refused:
            await member.run(ops.raise_hand, meeting, NewHand())
    assert (refused.value.code, str(refused.value)) == ("hand_already_up", "That hand is already up.")
    assert len(publisher.changes) == 1, "the refused change is never heard"
    async with runtime.sessionmaker() as session:
        room = await load_room(session, meeting)
    assert [h.user_id for h in room.hands] == [team.member.id]
    assert room.meeting.version == publisher.changes[0].version, "the refused change's version rose and fell back"


@pytest.mark.parametrize("held", [True, False], ids=["room held", "no room held"])
async def test_the_floors_writes_go_with_the_commit(runtime: Runtime, team: Team, held: bool) -> None:
    """A raised hand and two next speakers (the second ends the first's turn and starts one, in one
    flush: its UPDATE before its INSERT, as the one-open-turn index needs). Their rows reach the
    database only once the commit has begun; with the room held, nothing but the lock goes before."""
    meeting = team.meeting.id
    async with runtime.sessionmaker() as session:
        await room_as(runtime, session, team.chair).run(ops.start, meeting)
        for person in (team.member, team.lead):
            await room_as(runtime, session, person).run(ops.join, meeting)
        await room_as(runtime, session, team.member).run(ops.raise_hand, meeting, NewHand())
        room = await load_room(session, meeting) if held else None
    publisher = Holding(room)
    sent: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        sent.append(sql)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", statement)
    try:
        async with runtime.sessionmaker() as session:
            event.listen(session.sync_session, "before_commit", lambda _: sent.append(COMMIT_BEGINS))
            event.listen(session.sync_session, "after_commit", lambda _: sent.append(COMMITTED))
            await room_as(runtime, session, team.lead, publisher).run(ops.raise_hand, meeting, NewHand())
            chair = room_as(runtime, session, team.chair, publisher)
            for _ in range(2):
                await chair.run(ops.floor_next, meeting)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", statement)
    before_commits: list[list[str]] = []  # each change's statements until its commit begins
    current: list[str] | None = []
    for sql in sent:
        if sql == COMMIT_BEGINS:
            assert current is not None
            before_commits.append(current)
            current = None
        elif sql == COMMITTED:
            current = []
        elif current is not None:
            current.append(sql)
    assert len(before_commits) == 3, "three changes, each committed once"
    for statements in before_commits:
        assert not [sql for sql in statements if sql.startswith(WRITES)], statements
        if held:
            assert [sql.split()[:2] for sql in statements] == [["UPDATE", "meetings"]], "only the lock"
    async with runtime.sessionmaker() as session:
        turns = (await session.scalars(select(Turn).where(Turn.meeting_id == meeting).order_by(Turn.started_at))).all()
    assert [(t.user_id, t.ended_at is None) for t in turns] == [(team.member.id, False), (team.lead.id, True)]
