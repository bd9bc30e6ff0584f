"""How a meeting looks in the JSON API: the summary of a scheduled meeting, and the live state
that extends it (GET /api/meetings/{id}, the socket's `state` messages). The state is defined
once here; every answer and message that carries it uses these Structs, so /schema describes
them and the family's copy has the same shape with less in it."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from server.actions.shapes import ActionOut, action_json
from server.conference.shapes import ChildVoiceOut, MappingEntryOut, OutcomeOut, ScaleOut, conference_fields
from server.meetings.models import AgendaItem, Attendance, Decision, DecisionPosition, Hand, Meeting, MeetingKind, Turn
from server.meetings.state import RoomView
from server.people.shapes import AgencyOut, UserBrief, agency_json, user_brief
from server.shapes import Timestamp, from_attributes, iso, iso_or_none
from server.timeutil import today_local


class MeetingSummary(msgspec.Struct):
    """A meeting as the case's list and the scheduling calls show it."""

    id: UUID
    case_id: UUID
    title: str
    kind: str
    status: str
    version: int
    scheduled_at: Timestamp
    duration_minutes: int
    location: str | None
    chair_id: UUID
    chair: UserBrief
    turn_limit_seconds: int | None
    chair_speaks_for_agency: bool  # the chair counted as a voice of their agency


def _summary_derived(meeting: Meeting) -> dict[str, object]:
    """The summary's fields that are not a column under their own name."""
    return {"scheduled_at": iso(meeting.scheduled_at), "chair": user_brief(meeting.chair)}


def meeting_summary(meeting: Meeting) -> MeetingSummary:
    return from_attributes(MeetingSummary, meeting, **_summary_derived(meeting))


class AgendaItemOut(msgspec.Struct):
    id: UUID
    title: str
    position: int
    professionals_only: bool
    is_action_review: bool
    minutes: str
    open: bool
    is_child_voice: bool
    notes: str  # written live by the chair or the minute-taker: the draft minutes
    notes_version: int


class Speaker(msgspec.Struct):
    user: UserBrief
    turn_id: UUID
    kind: str
    since: Timestamp
    deadline: Timestamp | None


class QueueEntry(msgspec.Struct):
    id: UUID
    position: int
    user: UserBrief
    agency_id: UUID
    kind: str
    raised_at: Timestamp
    moved_by_chair: bool
    raised_by_chair: bool
    by_round: bool = False  # queued by a go-round (the room tags it "Round")


class AgencyTime(msgspec.Struct):
    agency: AgencyOut
    seconds: float


class PersonTime(msgspec.Struct):
    user: UserBrief
    seconds: float


class SpeakingTime(msgspec.Struct):
    by_agency: list[AgencyTime]
    by_person: list[PersonTime]


class AttendanceOut(msgspec.Struct):
    user: UserBrief
    agency_id: UUID
    joined_at: Timestamp
    left_at: Timestamp | None
    present: bool
    connected: bool


class PositionOut(msgspec.Struct):
    agency_id: UUID
    agency: AgencyOut
    position: str
    reason: str | None


class DecisionOut(msgspec.Struct):
    id: UUID
    agenda_item_id: UUID
    text: str
    outcome: str
    created_at: Timestamp
    positions: list[PositionOut]


class MeetingState(MeetingSummary):
    """The whole room as one person may see it (API.md, "The state of a meeting")."""

    started_at: Timestamp | None
    ended_at: Timestamp | None
    agenda: list[AgendaItemOut]
    open_item_id: UUID | None
    speaker: Speaker | None
    queue: list[QueueEntry]
    not_yet_heard: list[AgencyOut]
    speaking_time: SpeakingTime
    attendance: list[AttendanceOut]
    decisions: list[DecisionOut]
    actions: list[ActionOut]
    review_actions: list[ActionOut]
    minute_taker: UserBrief | None
    outcome: OutcomeOut | None
    mapping: list[MappingEntryOut]
    scales: list[ScaleOut]
    child_voice: ChildVoiceOut | None


class StateMessage(msgspec.Struct):
    """One socket message to a JSON client: the whole state is re-sent, never a diff to replay.
    `type` is `state` for the first message after connecting, `presence` when only who is
    connected changed (the version is the meeting's current one), else the kind of change."""

    meeting_id: UUID
    version: int
    type: str
    state: MeetingState


def agenda_item_out(item: AgendaItem, open_item_id: UUID | None) -> AgendaItemOut:
    return from_attributes(AgendaItemOut, item, open=item.id == open_item_id)


def position_out(position: DecisionPosition) -> PositionOut:
    return from_attributes(PositionOut, position, agency=agency_json(position.agency), reason=position.reason or None)


def decision_out(decision: Decision) -> DecisionOut:
    return from_attributes(
        DecisionOut,
        decision,
        created_at=iso(decision.created_at),
        positions=[position_out(p) for p in decision.positions],
    )


def speaker_out(turn: Turn, deadline: datetime | None) -> Speaker:
    return Speaker(
        user=user_brief(turn.user),
        turn_id=turn.id,
        kind=turn.kind,
        since=iso(turn.started_at),
        deadline=iso_or_none(deadline),
    )


def queue_entry(hand: Hand, position: int) -> QueueEntry:
    return from_attributes(
        QueueEntry,
        hand,
        position=position,
        user=user_brief(hand.user),
        raised_at=iso(hand.raised_at),
        moved_by_chair=hand.moved_at is not None,
        raised_by_chair=hand.raised_by_id is not None and hand.raised_by_id != hand.user_id,
    )


def attendance_out(attendance: Attendance, connected: bool) -> AttendanceOut:
    return AttendanceOut(
        user=user_brief(attendance.user),
        agency_id=attendance.agency_id,
        joined_at=iso(attendance.joined_at),
        left_at=iso_or_none(attendance.left_at),
        present=attendance.left_at is None,
        connected=connected,
    )


def meeting_state(view: RoomView) -> MeetingState:
    """The state for one audience's view of the room."""
    meeting = view.meeting
    today: date = today_local(view.now)
    open_id = None if view.open_item is None else view.open_item.id
    return from_attributes(
        MeetingState,
        meeting,
        **_summary_derived(meeting),
        started_at=iso_or_none(meeting.started_at),
        ended_at=iso_or_none(meeting.ended_at),
        agenda=[agenda_item_out(item, open_id) for item in view.agenda],
        open_item_id=open_id,
        speaker=None if view.speaker is None else speaker_out(view.speaker, view.turn_deadline),
        queue=[queue_entry(hand, position) for position, hand in enumerate(view.queue)],
        not_yet_heard=[agency_json(a) for a in view.not_yet_heard],
        speaking_time=SpeakingTime(
            by_agency=[AgencyTime(agency=agency_json(a), seconds=round(s, 1)) for a, s in view.time_by_agency],
            by_person=[PersonTime(user=user_brief(u), seconds=round(s, 1)) for u, s in view.time_by_user],
        ),
        attendance=[attendance_out(a, a.user_id in view.connected) for a in view.room.attendance],
        decisions=[decision_out(d) for d in view.decisions],
        actions=[action_json(a, today) for a in view.actions],
        review_actions=[action_json(a, today) for a in view.carried_actions],
        minute_taker=None if meeting.minute_taker is None else user_brief(meeting.minute_taker),
        **conference_fields(view.conference, meeting.kind == MeetingKind.REVIEW_CONFERENCE),
    )
