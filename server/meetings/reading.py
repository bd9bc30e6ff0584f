"""Reading a live meeting's room: the whole of it, or, after a change, only the parts the change
wrote (the rest is kept from the room as last read).

``load_room`` reads everything a room shows in a fixed, small number of queries; ``read_room``
re-reads only the parts named, and a change's own read (server/live/ahead.py) also reuses the
meeting row it has just written. What never changes once written (a turn that has ended) is
kept rather than read again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ARRAY, Uuid, any_, bindparam, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import OPEN_STATUSES, Action
from server.cases.models import Case, CaseMember
from server.conference.state import read_conference
from server.errors import NotFound
from server.meetings import queue
from server.meetings.changes import ALL_PARTS, Part
from server.meetings.models import AgendaItem, Attendance, Decision, Hand, Meeting, Turn
from server.meetings.state import Room, queue_turns_of
from server.people.models import Agency
from server.platform.rows import copy_row
from server.reports.models import Report

RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class Written:
    """What a change holds of its room as it will commit it, so that its own read (the read
    ahead) need not read it back: the meeting row it locked and wrote, and the waiting hands and
    the turns when its effect worked them out from the room before (None: read them)."""

    meeting: Meeting
    hands: Sequence[Hand] | None = None
    turns: Sequence[Turn] | None = None


async def load_room(session: AsyncSession, meeting_id: uuid.UUID) -> Room:
    """The whole room, read afresh."""
    return await read_room(session, meeting_id, ALL_PARTS)


async def read_room(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    parts: frozenset[Part] | Callable[[Meeting], frozenset[Part]],
    previous: Room | None = None,
    written: Written | None = None,
) -> Room:
    """The meeting row and its case, and the ``parts`` named (or chosen, once the meeting row is
    read); the other parts are taken from ``previous`` (the room as last read), so a change
    re-reads only what it wrote. A change's own read passes what it has just written (flushed),
    which saves reading that again. Everything is one snapshot when the caller's transaction is
    REPEATABLE READ."""
    found = _row_as_written(written, previous, parts) or await _meeting_and_case(session, meeting_id)
    meeting, case = found
    if callable(parts):
        parts = parts(meeting)
    if previous is None:
        parts = ALL_PARTS

    async def rows(query: Any) -> list[Any]:
        return list((await session.scalars(query)).unique().all())

    def kept(name: str) -> Any:
        return getattr(previous, name)

    agenda = (
        await rows(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position, AgendaItem.created_at)
        )
        if Part.AGENDA in parts
        else kept("agenda")
    )
    team = (
        await rows(
            select(CaseMember).where(CaseMember.case_id == case.id).order_by(CaseMember.added_at, CaseMember.user_id)
        )
        if Part.TEAM in parts
        else kept("team")
    )
    attendance = (
        await rows(select(Attendance).where(Attendance.meeting_id == meeting_id).order_by(Attendance.joined_at))
        if Part.ATTENDANCE in parts
        else kept("attendance")
    )
    if Part.HANDS not in parts:
        hands = kept("hands")
    elif written is not None and written.hands is not None:
        hands = list(written.hands)
    else:
        hands = await waiting_hands(session, meeting_id)
    if Part.TURNS in parts:
        if written is not None and written.turns is not None:
            turns = list(written.turns)
        else:
            turns = await turns_now(session, meeting_id, None if previous is None else previous.turns)
        rules = queue_turns_of(turns, previous)
    else:
        turns, rules = kept("turns"), kept("queue_turns")
    decisions = (
        await rows(select(Decision).where(Decision.meeting_id == meeting_id).order_by(Decision.created_at))
        if Part.DECISIONS in parts
        else kept("decisions")
    )
    if Part.ACTIONS in parts:
        actions = await rows(select(Action).where(Action.meeting_id == meeting_id).order_by(Action.created_at))
        carried = await rows(
            select(Action)
            .where(
                Action.case_id == case.id,
                Action.status.in_(OPEN_STATUSES),
                Action.meeting_id.is_distinct_from(meeting_id),
            )
            .order_by(Action.due_date)
        )
    else:
        actions, carried = kept("actions"), kept("carried_actions")
    agencies = await _agencies(session, team, attendance, None if previous is None else previous.agencies)
    conference = await read_conference(session, meeting_id, parts, None if previous is None else previous.conference)
    # Reports are written only before the meeting starts, and the start re-reads attendance.
    if previous is None or Part.ATTENDANCE in parts:
        found_reports = (
            await session.execute(
                select(Report.agency_id, Report.share_with_family).where(Report.meeting_id == meeting_id)
            )
        ).all()
        reported = frozenset(agency_id for agency_id, _ in found_reports)
        shared = frozenset(agency_id for agency_id, to_family in found_reports if to_family)
    else:
        reported, shared = previous.reported, previous.reported_shared
    return Room(
        meeting,
        case,
        agenda,
        team,
        attendance,
        hands,
        turns,
        rules,
        decisions,
        actions,
        carried,
        agencies,
        conference,
        reported,
        shared,
    )


async def _meeting_and_case(session: AsyncSession, meeting_id: uuid.UUID) -> tuple[Meeting, Case]:
    found = (
        await session.execute(
            select(Meeting, Case)
            .join(Case, Case.id == Meeting.case_id)
            .where(Meeting.id == meeting_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise NotFound("No such meeting.")
    meeting, case = found
    return meeting, case


def _row_as_written(
    written: Written | None, previous: Room | None, parts: frozenset[Part] | Callable[[Meeting], frozenset[Part]]
) -> tuple[Meeting, Case] | None:
    """A detached copy of the meeting row a change wrote, with the chair and minute taker the
    room last read, and the case as it was; None when that would not be the row as read afresh:
    a team change (the case's lead professional), another chair or minute taker, a column the
    flush left unloaded."""
    if written is None or previous is None or not isinstance(parts, frozenset) or Part.TEAM in parts:
        return None
    row, before = written.meeting, previous.meeting
    if (row.chair_id, row.minute_taker_id) != (before.chair_id, before.minute_taker_id):
        return None
    copy = copy_row(row)
    if copy is None:
        return None
    copy.chair, copy.minute_taker = before.chair, before.minute_taker
    return copy, previous.case


async def _agencies(
    session: AsyncSession,
    team: Sequence[CaseMember],
    attendance: Sequence[Attendance],
    known: dict[uuid.UUID, Agency] | None,
) -> dict[uuid.UUID, Agency]:
    """The agencies the room names: the people's came with them (joined); an attendance row may
    name one its person has since left, read only when not known already."""
    agencies = {m.user.agency.id: m.user.agency for m in team} | {a.user.agency.id: a.user.agency for a in attendance}
    missing = {a.agency_id for a in attendance} - agencies.keys()
    if missing and known:
        agencies |= {k: known[k] for k in missing & known.keys()}
        missing -= known.keys()
    if missing:
        found = await session.scalars(select(Agency).where(Agency.id.in_(missing)))
        agencies |= {a.id: a for a in found}
    return agencies


class QueueRows(NamedTuple):
    """All the queue order depends on (with the open item): the waiting hands and the turns, also
    as the queue rules take them."""

    hands: list[Hand]
    turns: list[Turn]
    rules: tuple[queue.Turn, ...]


async def queue_rows(session: AsyncSession, meeting_id: uuid.UUID, before: Room | None = None) -> QueueRows:
    """Inside a change's transaction: the room as it was committed (``before``, exact under the
    meeting's lock: only the room's operations write hands and turns, and each takes the lock)
    when this process holds it; else read, and then ended turns are not read again."""
    if before is not None:
        return QueueRows(list(before.hands), list(before.turns), tuple(before.queue_turns))
    hands = await waiting_hands(session, meeting_id)
    turns = await turns_of(session, meeting_id)
    return QueueRows(hands, turns, queue_turns_of(turns))


async def waiting_hands(session: AsyncSession, meeting_id: uuid.UUID) -> list[Hand]:
    return list(await session.scalars(select(Hand).where(Hand.meeting_id == meeting_id, Hand.state == "waiting")))


async def turns_of(session: AsyncSession, meeting_id: uuid.UUID) -> list[Turn]:
    return list(await session.scalars(select(Turn).where(Turn.meeting_id == meeting_id).order_by(Turn.started_at)))


async def turns_now(session: AsyncSession, meeting_id: uuid.UUID, before: Sequence[Turn] | None) -> list[Turn]:
    """The meeting's turns in order; given the turns as last read, only those that had not ended
    are read again. A turn that has ended never changes (only the open one is ever written), so
    a long meeting's hundredth "next speaker" does not re-read the ninety-nine turns before it
    (200 turns cost 3.5 ms to read)."""
    ended = [t for t in before or () if t.ended_at is not None]
    if not ended:
        return await turns_of(session, meeting_id)
    seen = bindparam("ended", [t.id for t in ended], type_=ARRAY(Uuid()))
    others = await session.scalars(select(Turn).where(Turn.meeting_id == meeting_id, not_(Turn.id == any_(seen))))
    return sorted([*ended, *others], key=lambda t: t.started_at)
