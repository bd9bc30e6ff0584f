"""The state of a live meeting: the room as read at one version (server/meetings/reading.py
reads it), and what each audience sees of it.

``view_for`` is pure: it derives the queue order, the floor, the voice balance and who has not been heard,
and, for the family, leaves out professionals-only items and everything recorded under them.
The same view feeds the JSON state, the HTML regions and the pages, so no channel can show the
family more than another.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from server.actions.models import Action
from server.cases.models import Case, CaseMember, CaseRole
from server.conference.state import ConferenceRoom, ConferenceView, view_conference
from server.meetings import queue
from server.meetings.models import AgendaItem, Attendance, Decision, Hand, Meeting, Turn
from server.people.models import Agency, User
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
