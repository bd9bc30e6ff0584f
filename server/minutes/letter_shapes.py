"""The outcome letter as sent when a meeting ends: one frozen record per audience, stored as
JSON (``msgspec.to_builtins``), so these Structs are also its schema."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec

from server.minutes.shapes import ActionRecord, Dissent, MeetingRecord, OutcomeRecord
from server.shapes import Timestamp


class LetterDecision(msgspec.Struct):
    id: UUID
    item: str
    text: str
    outcome: str
    outcome_label: str
    dissent: list[Dissent]


class NextMeeting(msgspec.Struct):
    """A meeting of the case scheduled after this one."""

    id: UUID
    title: str
    kind: str
    kind_label: str
    scheduled_at: Timestamp
    location: str | None


class Milestone(msgspec.Struct):
    """A statutory timescale still to meet (filled in where the timescales are known)."""

    kind: str
    label: str
    due_on: date
    meeting_id: UUID | None


class LetterRecord(msgspec.Struct):
    """One audience's letter: what was decided, who does what by when, what happens next."""

    version: int
    audience: str
    copy_label: str
    meeting: MeetingRecord
    decisions: list[LetterDecision]
    actions: list[ActionRecord]
    outcome: OutcomeRecord | None
    milestones: list[Milestone]
    next_meetings: list[NextMeeting]
    next_line: str
    """One sentence on what happens next, for the letter's readers who read nothing else."""
    draft_until: date
    present: list[str]
    absent: list[str]
    amended_at: Timestamp | None = None
    """When the letter was sent again because the conference outcome was recorded (or
    corrected) after the meeting ended; None for the letter as first sent."""


class LetterOut(msgspec.Struct):
    """GET /api/meetings/{id}/letter: the caller's copy of the outcome letter as sent."""

    audience: str
    sent_at: Timestamp
    letter: LetterRecord
