"""How a scheduled meeting looks in the JSON API (the live state is in state.py)."""

from __future__ import annotations

from typing import Any

from server.meetings.models import Meeting
from server.people.shapes import user_brief


def meeting_summary(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": str(meeting.id),
        "case_id": str(meeting.case_id),
        "title": meeting.title,
        "kind": meeting.kind,
        "status": meeting.status,
        "scheduled_at": meeting.scheduled_at.isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "location": meeting.location,
        "chair_id": str(meeting.chair_id),
        "chair": user_brief(meeting.chair),
        "turn_limit_seconds": meeting.turn_limit_seconds,
        "version": meeting.version,
    }
