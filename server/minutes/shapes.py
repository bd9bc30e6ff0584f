"""The minutes as issued: the frozen record each audience's copy is stored as, and the JSON
API's answer that carries it. Times are ISO 8601 strings in UTC, dates YYYY-MM-DD; the record is
stored as JSON (``msgspec.to_builtins``), so these Structs are also its schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from server.conference.shapes import ChildVoiceOut, MappingEntryOut, OutcomeOut, ScaleOut
from server.people.shapes import AgencyOut
from server.shapes import Timestamp, iso


class PersonRecord(msgspec.Struct):
    id: UUID
    name: str
    agency: str


class CaseRecord(msgspec.Struct):
    id: UUID
    reference: str
    display_name: str


class MeetingRecord(msgspec.Struct):
    id: UUID
    title: str
    kind: str
    kind_label: str
    case: CaseRecord
    chair: PersonRecord
    location: str | None
    scheduled_at: Timestamp
    started_at: Timestamp | None
    ended_at: Timestamp | None


class AttendeeRecord(msgspec.Struct):
    id: UUID
    name: str
    is_chair: bool
    joined_at: Timestamp
    left_at: Timestamp | None
    stayed_to_end: bool


class AttendanceGroup(msgspec.Struct):
    """The people one agency sent (the family counts as one agency)."""

    agency: AgencyOut
    people: list[AttendeeRecord]


class PositionRecord(msgspec.Struct):
    agency: str
    agency_id: UUID
    position: str
    position_label: str
    reason: str | None


class Dissent(msgspec.Struct):
    agency: str
    reason: str


class DecisionRecord(msgspec.Struct):
    id: UUID
    text: str
    outcome: str
    outcome_label: str
    recorded_at: Timestamp
    positions: list[PositionRecord]
    dissent: list[Dissent]


class ItemRecord(msgspec.Struct):
    id: UUID
    number: int
    title: str
    professionals_only: bool
    is_action_review: bool
    minutes: str
    decisions: list[DecisionRecord]
    action_ids: list[UUID]
    is_child_voice: bool = False
    notes: str = ""  # written live in the meeting by the chair or the minute-taker


class AgencyTime(msgspec.Struct):
    agency: str
    seconds: float
    share: int
    """Per cent of all speaking time."""


class PersonTime(msgspec.Struct):
    name: str
    agency: str
    seconds: float
    share: int


class VoiceBalance(msgspec.Struct):
    total_seconds: float
    by_agency: list[AgencyTime]
    by_person: list[PersonTime]
    not_heard: list[str]
    """Agencies that were present and never took a turn."""


class ActionRecord(msgspec.Struct):
    id: UUID
    title: str
    owner: str
    owner_id: UUID
    agency: str
    outcome_area: str
    outcome_area_label: str
    due_date: date
    status: str
    status_label: str
    agenda_item: str | None


class OutcomeViewRecord(msgspec.Struct):
    agency: str
    view: str
    view_label: str
    reason: str | None
    dissents: bool


class OutcomeRecord(msgspec.Struct):
    """The conference outcome (server/conference/models.py), when one was recorded."""

    plan: bool
    plan_label: str
    categories: list[str]
    category_labels: list[str]
    reasons: str
    recorded_at: Timestamp
    views: list[OutcomeViewRecord]


class MinutesRecord(msgspec.Struct):
    """One audience's copy: ``audience`` is professionals or family."""

    version: int
    audience: str
    copy_label: str
    meeting: MeetingRecord
    attendance: list[AttendanceGroup]
    absent: list[PersonRecord]
    items: list[ItemRecord]
    voice_balance: VoiceBalance
    actions: list[ActionRecord]
    outcome: OutcomeOut | None = None  # the conference's (server/conference)
    child_voice: ChildVoiceOut | None = None
    mapping: list[MappingEntryOut] = []
    scales: list[ScaleOut] = []  # revealed ones


class CorrectionOut(msgspec.Struct):
    """An attendee's correction of the draft; ``state`` is open, applied or not_applied."""

    id: UUID
    author: PersonRecord
    agenda_item_id: UUID | None
    agenda_item: str | None
    text: str
    state: str
    reply: str
    created_at: Timestamp
    resolved_at: Timestamp | None


class MinutesOut(msgspec.Struct):
    """GET /api/meetings/{id}/minutes: the caller's copy. ``status`` is draft (open to
    corrections by attendees until ``draft_until``, built afresh from the meeting's record) or
    approved (frozen by the chair at ``approved_at``). ``issued_at`` is when this copy took its
    present form: the draft's creation, or the approval."""

    audience: str
    issued_at: Timestamp
    snapshot: MinutesRecord
    status: str = "approved"
    draft_until: date | None = None
    approved_at: Timestamp | None = None
    approved_by: PersonRecord | None = None
    corrections: list[CorrectionOut] = msgspec.field(default_factory=list)
    can_correct: bool = False
    can_approve: bool = False


def minutes_json(stored: dict[str, Any], audience: str, issued_at: datetime) -> MinutesOut:
    """The answer for a copy on record (stored as JSON by :func:`msgspec.to_builtins`)."""
    return MinutesOut(audience=audience, issued_at=iso(issued_at), snapshot=msgspec.convert(stored, MinutesRecord))
