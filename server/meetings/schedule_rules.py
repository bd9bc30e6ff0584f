"""The rules for a meeting's time, length, place and turn limit: pure functions of the details
given and the time now, so the API and the forms refuse the same things with the same words,
and list every problem at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from server import limits
from server.errors import Problem
from server.limits import too_long
from server.meetings.models import MeetingKind

MAX_TURN_LIMIT = 60 * 60
MAX_DURATION = 8 * 60
# A time this recent still counts as now: the chair who types 10:00 at 10:02 means this meeting.
PAST_GRACE = timedelta(minutes=15)
PAST_MESSAGE = (
    "That date and time have passed. Choose a time still to come, or say that the meeting has "
    "already taken place to record it (no invitations are sent for a meeting in the past)."
)


def is_past(when: datetime, now: datetime) -> bool:
    return when < now - PAST_GRACE


def meeting_problems(
    *,
    title: str | None,
    kind: str | None,
    scheduled_at: datetime | None,
    duration_minutes: int | None,
    location: str | None,
    already_held: bool,
    now: datetime,
) -> dict[str, str]:
    """Every problem with a meeting's details at once, by field (None: not given, or not
    readable, which the caller has reported already). The turn limit is checked by the caller in
    its own unit (seconds in the API, minutes on the form)."""
    problems: dict[str, str] = {}
    if title is not None:
        if not title.strip():
            problems["title"] = "Enter a title for the meeting."
        elif message := too_long(title.strip(), limits.TITLE, "the title"):
            problems["title"] = message
    if kind is not None and kind not in MeetingKind.__members__.values():
        problems["kind"] = Problem(f"The kind of meeting must be one of: {', '.join(MeetingKind)}.", "unknown_kind")
    if scheduled_at is not None:
        if scheduled_at.tzinfo is None:
            problems["scheduled_at"] = Problem("Give the meeting time with its UTC offset.", "time_without_offset")
        elif already_held and not is_past(scheduled_at, now):
            problems["scheduled_at"] = (
                "You said the meeting has already taken place, but that time is still to come. "
                "Give the time it was held, or untick “already taken place”."
            )
        elif not already_held and is_past(scheduled_at, now):
            problems["scheduled_at"] = Problem(PAST_MESSAGE, "time_in_past")
    if duration_minutes is not None and not 0 < duration_minutes <= MAX_DURATION:
        problems["duration_minutes"] = Problem("A meeting lasts between 1 and 480 minutes (8 hours).", "out_of_range")
    if location is not None and (message := too_long(location.strip(), limits.PLACE, "the place")):
        problems["location"] = message
    return problems


def turn_limit_problem(seconds: int | None) -> str | None:
    if seconds is not None and not 0 < seconds <= MAX_TURN_LIMIT:
        return "A turn limit is between 1 and 3,600 seconds (an hour)."
    return None
