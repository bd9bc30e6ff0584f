"""Invitations with a calendar file, and moving or cancelling a scheduled meeting.

Every team member gets the invitation by e-mail with an .ics attached, written to the outbox in
the transaction that made the change, so a calendar never shows a time the database does not.
The UID is the meeting's for life and the meeting's calendar_sequence is the iTIP SEQUENCE, so a
move updates the entry people already have and a cancellation removes it.

Each person's calendar file names the chair as organiser and that person alone as attendee:
calendars are shared with colleagues and assistants, and the membership of a child's team
should not travel with them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record_meeting
from server.caller import Caller
from server.cases.models import Case
from server.cases.service import managed_case, role_of, team
from server.config import Settings
from server.errors import Conflict, NotFound, Problem, Problems
from server.live.events import MeetingChanged
from server.meetings.changes import ChangeKind
from server.meetings.models import Meeting, MeetingKind, MeetingStatus
from server.meetings.schedule_rules import is_past, meeting_problems
from server.notify.calendar import meeting_ics
from server.notify.outbox import Attachment, Email, enqueue
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.timeutil import zone

Method = Literal["REQUEST", "CANCEL"]


def calendar_uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}@roundtable"


def kind_label(meeting: Meeting) -> str:
    try:
        return MeetingKind(meeting.kind).label
    except ValueError:
        return "Meeting"


def calendar_summary(meeting: Meeting, case: Case) -> str:
    """What a calendar shows: the kind of meeting and the reference, never the child's name."""
    return f"{kind_label(meeting)} — {case.reference}"


def meeting_link(settings: Settings, meeting: Meeting) -> str:
    return f"{settings.base_url}/meetings/{meeting.id}"


def _local(value: datetime) -> str:
    return value.astimezone(zone()).strftime("%a %-d %b %Y, %H:%M")


# --- sending -----------------------------------------------------------------------------------


async def invite(session: AsyncSession, settings: Settings, meeting: Meeting, *, method: Method = "REQUEST") -> int:
    """Inside the caller's transaction: e-mail every active team member the invitation (or the
    cancellation) at the meeting's current calendar_sequence. Returns how many were queued;
    a repeat at the same sequence queues nothing new."""
    case = await session.get(Case, meeting.case_id)
    chair = await session.get(User, meeting.chair_id)
    assert case is not None
    assert chair is not None
    count = 0
    for member in await team(session, meeting.case_id):
        person = member.user
        if not person.is_active:
            continue
        ics = _ics(settings, meeting, case, chair, person, method)
        await enqueue(
            session,
            settings,
            _invitation_email(settings, meeting, case, chair, person, method, ics),
            dedupe_key=f"invite:{meeting.id}:{meeting.calendar_sequence}:{person.id}",
            case_id=meeting.case_id,
        )
        count += 1
    return count


def _ics(settings: Settings, meeting: Meeting, case: Case, chair: User, person: User, method: Method) -> bytes:
    link = meeting_link(settings, meeting)
    return meeting_ics(
        uid=calendar_uid(meeting),
        sequence=meeting.calendar_sequence,
        method=method,
        start=meeting.scheduled_at,
        duration_minutes=meeting.duration_minutes,
        summary=calendar_summary(meeting, case),
        description=f"Join the meeting and see its agenda in Roundtable: {link}",
        location=meeting.location,
        organizer_email=chair.email,
        organizer_name=chair.name,
        attendees=[(person.email, person.name)],
        url=link,
    )


def _invitation_email(
    settings: Settings, meeting: Meeting, case: Case, chair: User, person: User, method: Method, ics: bytes
) -> Email:
    label = kind_label(meeting)
    when = f"{_local(meeting.scheduled_at)} ({meeting.duration_minutes} minutes)"
    if method == "CANCEL":
        subject = f"Cancelled: {label} — {case.reference}, {_local(meeting.scheduled_at)}"
        opening = f"The {label.lower()} for case {case.reference} ({meeting.title}) has been cancelled."
        closing = "The attached calendar file removes it from your calendar. Nothing else is needed from you."
    else:
        moved = meeting.calendar_sequence > 0
        subject = f"{'Moved' if moved else 'Invitation'}: {label} — {case.reference}, {_local(meeting.scheduled_at)}"
        opening = (
            f"The {label.lower()} for case {case.reference} ({meeting.title}) has moved. Here are the new details."
            if moved
            else f"You are invited to a {label.lower()} for case {case.reference} ({meeting.title})."
        )
        closing = (
            "The attached calendar file adds it to your calendar (or updates the entry you have). "
            "It names only the kind of meeting and the case reference, as calendars are often shared."
        )
    text = "\n".join(
        [
            f"Dear {person.name},",
            "",
            opening,
            "",
            f"When: {when}",
            f"Where: {meeting.location or 'Online, in Roundtable'}",
            f"Chair: {chair.name}",
            "",
            f"Join, and see the agenda, at: {meeting_link(settings, meeting)}",
            "",
            closing,
            "",
            "Roundtable",
            "This message is confidential. Please share it only as the plan agrees.",
            "",
        ]
    )
    return Email(
        to=[person.email], subject=subject, text=text, attachments=[Attachment("invite.ics", ics, "text", "calendar")]
    )


# --- moving and cancelling -----------------------------------------------------------------------


def check_changes(
    scheduled_at: datetime | None, duration_minutes: int | None, location: str | None, now: datetime
) -> None:
    """Every problem with a move at once; a meeting cannot be moved into the past."""
    problems = meeting_problems(
        title=None,
        kind=None,
        scheduled_at=scheduled_at,
        duration_minutes=duration_minutes,
        location=location,
        already_held=False,
        now=now,
    )
    if scheduled_at is not None and scheduled_at.tzinfo is not None and is_past(scheduled_at, now):
        problems["scheduled_at"] = Problem("Choose a time that has not passed yet.", "time_in_past")
    if problems:
        raise Problems(problems)


async def _locked_scheduled_meeting(session: AsyncSession, user: User, meeting_id: uuid.UUID) -> Meeting:
    """The meeting, row-locked, if this user chairs it or manages its case (404 if they may not
    see it, 403 if they may see but not change it) and it is still only scheduled (409)."""
    meeting = await session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .with_for_update(of=Meeting)
        .execution_options(populate_existing=True)
    )
    if meeting is None:
        raise NotFound("No such meeting.")
    chairs_it = meeting.chair_id == user.id and await role_of(session, meeting.case_id, user.id) is not None
    if not chairs_it:
        try:
            await managed_case(session, user, meeting.case_id)
        except NotFound:
            raise NotFound("No such meeting.") from None
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("The meeting was cancelled already.", code="already_cancelled")
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict("Only a meeting that has not started can be moved or cancelled.", code="already_started")
    return meeting


def _changes(
    meeting: Meeting, scheduled_at: datetime | None, duration_minutes: int | None, location: str | None
) -> dict[str, Any]:
    """Only what differs from the meeting as it stands, so an empty or repeated change sends nothing."""
    changes: dict[str, Any] = {}
    if scheduled_at is not None and scheduled_at != meeting.scheduled_at:
        changes["scheduled_at"] = scheduled_at
    if duration_minutes is not None and duration_minutes != meeting.duration_minutes:
        changes["duration_minutes"] = duration_minutes
    if location is not None and (location.strip() or None) != meeting.location:
        changes["location"] = location.strip() or None
    return changes


async def _reissue(caller: Caller, meeting: Meeting, verb: str, *, method: Method = "REQUEST", **detail: Any) -> None:
    """After a change to a scheduled meeting: the calendar entry's next sequence, the room's next
    version, the audit row, and the updated invitation (or the cancellation) to everyone."""
    meeting.calendar_sequence += 1
    meeting.version += 1
    record_meeting(caller.db, caller.actor, verb, meeting, sequence=meeting.calendar_sequence, **detail)
    await invite(caller.db, caller.settings, meeting, method=method)


async def reschedule(
    caller: Caller,
    meeting_id: uuid.UUID,
    *,
    scheduled_at: datetime | None = None,
    duration_minutes: int | None = None,
    location: str | None = None,
) -> Meeting:
    """Move a scheduled meeting (time, length or place) and send everyone the updated invitation."""
    check_changes(scheduled_at, duration_minutes, location, utcnow())
    async with transaction(caller.db):
        meeting = await _locked_scheduled_meeting(caller.db, caller.user, meeting_id)
        changes = _changes(meeting, scheduled_at, duration_minutes, location)
        if changes:
            for name, value in changes.items():
                setattr(meeting, name, value)
            await _reissue(caller, meeting, "meeting.reschedule", **changes)
    if changes:
        await caller.publisher.meeting_changed(MeetingChanged(meeting.id, meeting.version, ChangeKind.RESCHEDULED))
    return meeting


async def cancel(caller: Caller, meeting_id: uuid.UUID) -> Meeting:
    """Cancel a scheduled meeting and send everyone a CANCEL for the same calendar entry."""
    async with transaction(caller.db):
        meeting = await _locked_scheduled_meeting(caller.db, caller.user, meeting_id)
        meeting.status = MeetingStatus.CANCELLED
        await _reissue(caller, meeting, "meeting.cancel", method="CANCEL", cancelled_at=utcnow())
    await caller.publisher.meeting_changed(MeetingChanged(meeting.id, meeting.version, ChangeKind.CANCELLED))
    return meeting
