"""An operation that runs while this process's live feed holds the room (the committed room at
the version before, under the meeting's lock) may take from it what cannot have changed, such as
the turns that have ended; it must decide exactly as one that reads everything."""

from __future__ import annotations

import uuid

from server.meetings import room as ops
from server.meetings.reading import load_room
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.platform.runtime import Runtime
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
