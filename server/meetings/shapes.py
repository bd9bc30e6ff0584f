"""How a scheduled meeting looks in the JSON API (the live state is in state.py)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.meetings.models import Meeting
from server.people.shapes import UserBrief, user_brief
from server.shapes import Timestamp, iso


class MeetingSummary(msgspec.Struct):
    """A meeting as its case's list shows it, and as scheduling, moving or cancelling answers."""

    id: UUID
    case_id: UUID
    title: str
    kind: str
    status: str
    scheduled_at: Timestamp
    duration_minutes: int
    location: str | None
    chair_id: UUID
    chair: UserBrief
    turn_limit_seconds: int | None
    version: int


def meeting_summary(meeting: Meeting) -> MeetingSummary:
    return MeetingSummary(
        id=meeting.id,
        case_id=meeting.case_id,
        title=meeting.title,
        kind=meeting.kind,
        status=meeting.status,
        scheduled_at=iso(meeting.scheduled_at),
        duration_minutes=meeting.duration_minutes,
        location=meeting.location,
        chair_id=meeting.chair_id,
        chair=user_brief(meeting.chair),
        turn_limit_seconds=meeting.turn_limit_seconds,
        version=meeting.version,
    )
