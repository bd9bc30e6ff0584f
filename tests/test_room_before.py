"""An operation that runs while this process's live feed holds the room (the committed room at
the version before, under the meeting's lock) may take from it what cannot have changed, such as
the turns that have ended; it must decide exactly as one that reads everything."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect, select

from server.meetings import room as ops
from server.meetings.models import Hand, Turn
from server.meetings.reading import load_room
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.platform.rows import copy_row
from server.platform.runtime import Runtime
from server.reports.models import Report
from tests.support import Recorder, Team, room_as


async def next_speaker_after_a_heard_agency(runtime: Runtime, team: Team, *, held: bool) -> uuid.UUID | None:
    """The school has spoken on the item and has its hand up again; health, unheard, raised its
    hand after: the equal-voice rules give health the floor, from the ended turn on record."""
    meeting = team.meeting.id
    async with runtime.sessionmaker() as session:
        chair = room_as(runtime, session, team.chair)
        item = await chair.run(ops.add_item, meeting, NewItem("Health and development"))
        await chair.run(ops.start, meeting)
        await chair.run(ops.open_item, meeting, target=item.id)
        for person in (team.member, team.lead):
            await room_as(runtime, session, person).run(ops.join, meeting)
        await room_as(runtime, session, team.member).run(ops.raise_hand, meeting, NewHand())
        await chair.run(ops.floor_next, meeting)
        await chair.run(ops.floor_end, meeting)
        await room_as(runtime, session, team.member).run(ops.raise_hand, meeting, NewHand())
        await room_as(runtime, session, team.lead).run(ops.raise_hand, meeting, NewHand())
    async with runtime.sessionmaker() as session:
        room = await load_room(session, meeting)
    assert [t.ended_at is not None for t in room.turns] == [True], "one turn on record, ended"
    async with runtime.sessionmaker() as session:
        caller = room_as(runtime, session, team.chair, Recorder(room if held else None))
        passed = await caller.run(ops.floor_next, meeting)
    return passed.speaker_id


async def test_next_speaker_decides_the_same_from_the_room_held(runtime: Runtime, team: Team) -> None:
    assert await next_speaker_after_a_heard_agency(runtime, team, held=True) == team.lead.id


async def test_next_speaker_decides_from_the_database_when_no_room_is_held(runtime: Runtime, team: Team) -> None:
    assert await next_speaker_after_a_heard_agency(runtime, team, held=False) == team.lead.id


def columns(row: Any) -> dict[str, Any]:
    state: Any = inspect(row)
    return {a.key: getattr(row, a.key) for a in state.mapper.column_attrs}


async def test_a_copy_of_a_new_row_is_the_row_as_read_back(runtime: Runtime, team: Team) -> None:
    """What a change hands the feed instead of reading it back: the columns a new row never set
    were inserted as NULL, and the copy says so, belonging to no session."""
    async with runtime.sessionmaker() as session:
        hand = Hand(meeting_id=team.meeting.id, user_id=team.member.id, agency_id=team.member.agency_id, kind="reply")
        session.add(hand)
        await session.flush()
        copy = copy_row(hand, pinned_position=2)
        await session.commit()
    assert copy is not None
    assert inspect(copy).detached
    async with runtime.sessionmaker() as session:
        read = await session.get(Hand, hand.id)
        assert read is not None
        assert columns(copy) == columns(read) | {"pinned_position": 2}


async def test_no_copy_of_a_row_whose_columns_are_not_known_here(runtime: Runtime, team: Team) -> None:
    """Expired or deferred columns are not guessed: the read ahead reads such a row instead."""
    async with runtime.sessionmaker() as session:
        turn = Turn(meeting_id=team.meeting.id, user_id=team.member.id, agency_id=team.member.agency_id)
        session.add(turn)
        await session.flush()
        session.expire(turn, ["ended_at"])
        assert copy_row(turn) is None
        assert copy_row(turn, ended_at=None) is not None, "a column the copy is given is known"
        report = Report(
            meeting_id=team.meeting.id, agency_id=team.member.agency_id, author_id=team.member.id, text="Seen twice."
        )
        session.add(report)
        await session.flush()
        session.expunge(report)
        loaded = await session.scalar(select(Report).where(Report.id == report.id))
        assert loaded is not None
        assert copy_row(loaded) is None, "the PDF is loaded only when asked for"
        await session.rollback()
