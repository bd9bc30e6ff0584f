"""The room at a change's version, read inside the change's own transaction, for this process's
live feed.

When the feed of the meeting in this process holds the room at the version just before the
change, the command re-reads the parts its kinds wrote (and only those) before it commits, on
its own connection, and hands the room over with the notice: the feed then sends it without a
connection, a snapshot and a round trip of its own after the commit. The meeting's row lock,
held until the commit, keeps every other change of the meeting out in between, so the room read
is the room at exactly that version. Other processes, and a feed that is behind, read as before.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from server.live.events import Publisher
from server.meetings.changes import ChangeKind, parts_for
from server.meetings.models import Meeting
from server.meetings.reading import Written, read_room
from server.meetings.state import Room


def room_before(publisher: Publisher, meeting: Meeting) -> Room | None:
    """The room at the version just before the one ``meeting`` was locked at, when this
    process's feed holds it: then it is exactly the committed room, since the lock keeps every
    other change of the meeting out until the commit."""
    previous = publisher.room_now(meeting.id)
    return previous if previous is not None and previous.version == meeting.version - 1 else None


_CHANGE = "change_session"


class _Reader(Session):
    """The read ahead's session: before its first statement, it flushes the change's own session
    (named in its ``info``), and not before, so that a change whose room needs no reading (a raised
    hand) leaves its audit row to the commit, which flushes it while the messages are rendered."""


@event.listens_for(_Reader, "do_orm_execute")
def _flush_the_change_first(execution: ORMExecuteState) -> None:
    change: Session | None = execution.session.info.pop(_CHANGE, None)
    if change is not None:
        change.flush()


async def read_ahead(
    session: AsyncSession, previous: Room | None, written: Written, kinds: frozenset[ChangeKind]
) -> Room | None:
    """The room at the version of ``written.meeting``, the row the change locked and wrote, from
    the room before it (:func:`room_before`); None without one. A session of its own on the same
    connection reads what the change does not hold already (after flushing what the change wrote),
    and the row is copied, so that the caller's session never shares its objects with the feed."""
    if previous is None:
        return None
    reader = AsyncSession(
        bind=await session.connection(),
        expire_on_commit=False,
        sync_session_class=_Reader,
        info={_CHANGE: session.sync_session},
    )
    try:
        return await read_room(reader, written.meeting.id, parts_for(kinds), previous, written)
    finally:
        # Closed directly, not by ``async with``, whose exit runs the close in a task of its own (two
        # turns of the event loop on every change's path); it owns no connection to give back.
        await reader.close()
