"""The state of a live meeting: loaded once per change, then viewed per audience.

``load_room`` reads everything a room shows in a fixed, small number of queries. ``view_for``
is pure: it derives the queue order, the floor, the voice balance and who has not been heard,
and, for the family, leaves out professionals-only items and everything recorded under them.
The same view feeds the JSON state, the HTML regions and the pages, so no channel can show the
family more than another.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, inspect, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from server.actions.models import OPEN_STATUSES, Action
from server.cases.models import Case, CaseMember, CaseRole
from server.conference.state import ConferenceRoom, ConferenceView, read_conference, view_conference
from server.errors import NotFound
from server.meetings import queue
from server.meetings.changes import ALL_PARTS, Part
from server.meetings.models import AgendaItem, Attendance, Decision, Hand, Meeting, Turn
from server.people.models import Agency, User
from server.reports.models import Report
from server.shapes import from_attributes


class Audience(StrEnum):
    """Everyone in one audience is sent the same bytes."""

    CHAIR = "chair"
    PROFESSIONALS = "professionals"
    FAMILY = "family"

    @property
    def sees_professionals_only(self) -> bool:
        return self is not Audience.FAMILY


def audience_for(role: str | None, *, is_chair: bool) -> Audience:
    if is_chair:
        return Audience.CHAIR
    return Audience.FAMILY if role == CaseRole.FAMILY else Audience.PROFESSIONALS


@dataclass(frozen=True, slots=True)
class Room:
    """Everything a room shows, as read from the database at one version."""

    meeting: Meeting
    case: Case
    agenda: Sequence[AgendaItem]
    team: Sequence[CaseMember]
    attendance: Sequence[Attendance]
    hands: Sequence[Hand]
    turns: Sequence[Turn]
    queue_turns: Sequence[queue.Turn]  # the turns as the queue rules take them, converted once
    decisions: Sequence[Decision]
    actions: Sequence[Action]
    carried_actions: Sequence[Action]  # still open from earlier meetings: the action review
    agencies: dict[uuid.UUID, Agency]
    conference: ConferenceRoom
    reported: frozenset[uuid.UUID] = frozenset()  # agencies whose report for the meeting is in
    reported_shared: frozenset[uuid.UUID] = frozenset()  # of those, the ones shared with the family

    @property
    def version(self) -> int:
        return self.meeting.version


async def load_room(session: AsyncSession, meeting_id: uuid.UUID) -> Room:
    """The whole room, read afresh."""
    return await read_room(session, meeting_id, ALL_PARTS)


async def read_room(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    parts: frozenset[Part] | Callable[[Meeting], frozenset[Part]],
    previous: Room | None = None,
    written: Meeting | None = None,
) -> Room:
    """The meeting row and its case, and the ``parts`` named (or chosen, once the meeting row is
    read); the other parts are taken from ``previous`` (the room as last read), so a change
    re-reads only what it wrote. A change's own read passes the meeting row it has just written
    (``written``, flushed), which saves reading it again. Everything is one snapshot when the
    caller's transaction is REPEATABLE READ."""
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
    hands = await waiting_hands(session, meeting_id) if Part.HANDS in parts else kept("hands")
    if Part.TURNS in parts:
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
    written: Meeting | None, previous: Room | None, parts: frozenset[Part] | Callable[[Meeting], frozenset[Part]]
) -> tuple[Meeting, Case] | None:
    """A detached copy of the meeting row a change wrote, with the chair and minute taker the
    room last read, and the case as it was; None when that would not be the row as read afresh:
    a team change (the case's lead professional), another chair or minute taker, a column the
    flush left unloaded."""
    if written is None or previous is None or not isinstance(parts, frozenset) or Part.TEAM in parts:
        return None
    before = previous.meeting
    if (written.chair_id, written.minute_taker_id) != (before.chair_id, before.minute_taker_id):
        return None
    loaded = inspect(written).dict
    if any(key not in loaded for key in _MEETING_COLUMNS):
        return None
    copy = Meeting(**{key: loaded[key] for key in _MEETING_COLUMNS})
    copy.chair, copy.minute_taker = before.chair, before.minute_taker
    make_transient_to_detached(copy)
    return copy, previous.case


_MEETING_COLUMNS = tuple(attr.key for attr in inspect(Meeting).column_attrs)


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


async def queue_rows(
    session: AsyncSession, meeting_id: uuid.UUID, before: Room | None = None
) -> tuple[list[Hand], list[Turn]]:
    """The waiting hands and the turns: all the queue order depends on (with the open item).
    Given the room as it was committed (``before``), its ended turns are not read again."""
    hands = await waiting_hands(session, meeting_id)
    turns = await turns_now(session, meeting_id, None if before is None else before.turns)
    return hands, turns


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


@dataclass(frozen=True, slots=True)
class QueueEntry:
    hand: Hand
    position: int


@dataclass(frozen=True, slots=True)
class RoomView:
    """What one audience sees of a room at one moment."""

    room: Room
    audience: Audience
    now: datetime
    agenda: Sequence[AgendaItem]
    open_item: AgendaItem | None
    open_item_hidden: bool
    speaker: Turn | None
    turn_deadline: datetime | None
    queue: Sequence[Hand]
    present: Sequence[Attendance]
    left: Sequence[Attendance]
    not_yet_heard: Sequence[Agency]
    time_by_agency: Sequence[tuple[Agency, float]]
    time_by_user: Sequence[tuple[User, float]]
    decisions: Sequence[Decision]
    actions: Sequence[Action]
    carried_actions: Sequence[Action]
    conference: ConferenceView
    connected: frozenset[uuid.UUID] = field(default_factory=frozenset)
    voices: Sequence[Attendance] = ()  # the present who count as voices (the chair only if they speak for an agency)
    viewer: uuid.UUID | None = None  # the one person this view is for; None when an audience shares it

    @property
    def meeting(self) -> Meeting:
        return self.room.meeting

    @property
    def is_chair(self) -> bool:
        return self.audience is Audience.CHAIR

    @property
    def numbered_agenda(self) -> list[tuple[int, AgendaItem | None]]:
        """Every item with its one number, the same for everyone: None stands in for an item this
        audience does not see, so that "item 6" means one thing to the family and the team."""
        shown = {i.id for i in self.agenda}
        return [(n, item if item.id in shown else None) for n, item in enumerate(self.room.agenda, 1)]

    def number_of(self, item: AgendaItem) -> int:
        return next(n for n, i in enumerate(self.room.agenda, 1) if i.id == item.id)


def rule_hand(hand: Hand) -> queue.Hand:
    return from_attributes(queue.Hand, hand, kind=queue.HandKind(hand.kind))


def rule_turn(turn: Turn) -> queue.Turn:
    return from_attributes(queue.Turn, turn)


def queue_turns_of(turns: Sequence[Turn], before: Room | None = None) -> tuple[queue.Turn, ...]:
    """The turns as the queue rules take them. Those the room ``before`` had already converted
    as ended are reused (an ended turn never changes): a long meeting's turns are converted once,
    not on every change for every audience (~4 µs each; 200 turns were 70% of a view)."""
    ended = {t.id: t for t in (before.queue_turns if before else ()) if t.ended_at is not None}
    return tuple((ended.get(t.id) or rule_turn(t)) if t.ended_at is not None else rule_turn(t) for t in turns)


def ordered_hands(room: Room, now: datetime) -> list[Hand]:
    """The waiting hands in the order the equal-voice rules give (for every audience)."""
    return order_hands(room.hands, room.queue_turns, room.meeting.open_item_id, now)


def order_hands(
    hands: Sequence[Hand], turns: Sequence[queue.Turn], open_item_id: uuid.UUID | None, now: datetime
) -> list[Hand]:
    by_id = {h.id: h for h in hands}
    current = next((t for t in turns if t.ended_at is None), None)
    order = queue.order_queue(
        [rule_hand(h) for h in hands],
        turns,
        open_item_id=open_item_id,
        current_turn_id=current.id if current else None,
        now=now,
    )
    return [by_id[h.id] for h in order]


def family_sees_all(room: Room) -> bool:
    """True when nothing in the room is for professionals only: then the family's view of it
    is the professionals' view (view_for leaves out nothing else), and so are its bytes."""
    return not any(i.professionals_only for i in room.agenda) and not any(
        a.professionals_only for a in (*room.actions, *room.carried_actions)
    )


def view_for(
    room: Room,
    audience: Audience,
    now: datetime,
    connected: frozenset[uuid.UUID] = frozenset(),
    viewer: uuid.UUID | None = None,
) -> RoomView:
    hidden_items = set() if audience.sees_professionals_only else {i.id for i in room.agenda if i.professionals_only}
    agenda = [i for i in room.agenda if i.id not in hidden_items]
    open_item = next((i for i in room.agenda if i.id == room.meeting.open_item_id), None)
    open_item_hidden = open_item is not None and open_item.id in hidden_items
    current = next((t for t in room.turns if t.ended_at is None), None)
    speaker = None if open_item_hidden else current
    deadline = None
    if speaker is not None and speaker.limit_seconds:
        deadline = speaker.started_at + timedelta(seconds=speaker.limit_seconds)
    members = {m.user_id: m.user for m in room.team} | {a.user_id: a.user for a in room.attendance}
    present = [a for a in room.attendance if a.left_at is None]
    voices = [a for a in present if counts_as_voice(room.meeting, a.user_id)]
    voice_turns = [t for t in room.queue_turns if counts_as_voice(room.meeting, t.user_id)]
    present_agencies = list(dict.fromkeys(a.agency_id for a in voices))
    unheard = queue.not_yet_heard(present_agencies, voice_turns, room.meeting.open_item_id)
    spoken = queue.speaking_seconds([t for t in voice_turns if t.agenda_item_id not in hidden_items], now)
    return RoomView(
        room=room,
        audience=audience,
        now=now,
        agenda=agenda,
        open_item=None if open_item_hidden else open_item,
        open_item_hidden=open_item_hidden,
        speaker=speaker,
        turn_deadline=deadline,
        queue=[] if open_item_hidden else ordered_hands(room, now),
        present=present,
        left=[a for a in room.attendance if a.left_at is not None],
        not_yet_heard=[] if open_item_hidden else [room.agencies[a] for a in unheard if a in room.agencies],
        time_by_agency=sorted(
            ((room.agencies[a], s) for a, s in spoken.by_agency.items() if a in room.agencies),
            key=lambda p: -p[1],
        ),
        time_by_user=sorted(
            ((members[u], s) for u, s in spoken.by_user.items() if u in members),
            key=lambda p: -p[1],
        ),
        decisions=[d for d in room.decisions if d.agenda_item_id not in hidden_items],
        actions=[
            a
            for a in room.actions
            if a.agenda_item_id not in hidden_items
            and not (a.professionals_only and not audience.sees_professionals_only)
        ],
        carried_actions=[
            a for a in room.carried_actions if audience.sees_professionals_only or not a.professionals_only
        ],
        conference=view_conference(room.conference, hidden_items, viewer),
        connected=connected,
        voices=voices,
        viewer=viewer,
    )


def counts_as_voice(meeting: Meeting, user_id: uuid.UUID) -> bool:
    """Everyone is a voice of their agency except the chair, unless the meeting says the chair
    also speaks for theirs: an independent chair runs the meeting and is not one of its voices."""
    return user_id != meeting.chair_id or meeting.chair_speaks_for_agency
