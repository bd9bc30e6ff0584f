"""The outcome letter: what the meeting decided, who does what by when, the conference outcome
and what happens next, sent to everyone invited the moment the meeting ends, present or not.

It runs inside the transaction that ends the meeting: the letters (one frozen copy per audience,
the family's built from the family's view, so nothing professionals-only can be in it) and their
e-mails in the outbox commit with the ended status or not at all. A repeat sends nothing more:
the first copies stand and each person's e-mail has its own dedupe key.

A conference's outcome may be recorded (or corrected) in the two days after the end. Then the
letter is built again with it, replaces the copies, and goes to everyone invited once more,
marked as amended, inside the transaction that records the outcome.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record_meeting
from server.caller import Caller
from server.cases.milestones import case_milestones
from server.config import Settings
from server.errors import NotFound
from server.meetings.models import Meeting, MeetingKind, MeetingStatus
from server.meetings.reading import load_room
from server.meetings.state import Room, view_for
from server.minutes import snapshot as snap
from server.minutes.letter_pdf import build_letter_pdf
from server.minutes.letter_shapes import LetterDecision, LetterRecord, Milestone, NextMeeting
from server.minutes.models import MinutesReview, OutcomeLetter
from server.minutes.outcome import outcome_record
from server.minutes.service import COPIES, invited, open_draft, pdf_filename, reader_copy, record_email
from server.minutes.shapes import MinutesRecord, OutcomeRecord
from server.notify.outbox import Email, enqueue
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.timeutil import today_local

LETTER_VERSION = 1
LETTER_KEY = "uq_outcome_letters_meeting_audience"
LETTER_LABELS = {"professionals": "Professionals' copy", "family": "Family copy"}


class LetterCopy(NamedTuple):
    snapshot: dict[str, Any]
    audience: str
    sent_at: datetime


def next_line(next_meetings: list[NextMeeting], milestones: list[Milestone]) -> str:
    """What happens next, in one sentence."""
    if next_meetings:
        first = next_meetings[0]
        return f"Next meeting: {first.kind_label}, {snap.local_datetime(first.scheduled_at)}."
    if milestones:
        first_due = milestones[0]
        return f"Next: {first_due.label}, due by {first_due.due_on:%a %-d %b %Y}; the chair will send the invitation."
    return "Next meeting: not arranged yet; the chair will send the invitation as soon as it is."


def build_letter(
    minutes: MinutesRecord,
    outcome: OutcomeRecord | None,
    next_meetings: list[NextMeeting],
    milestones: list[Milestone],
    draft_until: date,
    *,
    amended_at: datetime | None = None,
) -> LetterRecord:
    """Pure: the letter from one audience's minutes (already without what that audience may not
    see) and what is known of what comes next."""
    decisions = [
        LetterDecision(
            id=d.id, item=item.title, text=d.text, outcome=d.outcome, outcome_label=d.outcome_label, dissent=d.dissent
        )
        for item in minutes.items
        for d in item.decisions
    ]
    return LetterRecord(
        version=LETTER_VERSION,
        audience=minutes.audience,
        copy_label=LETTER_LABELS[minutes.audience],
        meeting=minutes.meeting,
        decisions=decisions,
        actions=minutes.actions,
        outcome=outcome,
        milestones=milestones,
        next_meetings=next_meetings,
        next_line=next_line(next_meetings, milestones),
        draft_until=draft_until,
        present=[p.name for group in minutes.attendance for p in group.people],
        absent=[p.name for p in minutes.absent],
        amended_at=None if amended_at is None else amended_at.isoformat(),
    )


async def _next_meetings(session: AsyncSession, meeting: Meeting) -> list[NextMeeting]:
    rows = await session.scalars(
        select(Meeting)
        .where(
            Meeting.case_id == meeting.case_id,
            Meeting.id != meeting.id,
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.scheduled_at >= (meeting.ended_at or utcnow()),
        )
        .order_by(Meeting.scheduled_at)
        .limit(3)
    )
    return [
        NextMeeting(
            id=m.id,
            title=m.title,
            kind=m.kind,
            kind_label=MeetingKind(m.kind).label,
            scheduled_at=m.scheduled_at.isoformat(),
            location=m.location,
        )
        for m in rows
    ]


async def send_letters(session: AsyncSession, settings: Settings, room: Room, draft_until: date) -> None:
    """Inside the transaction that ends the meeting: freeze each audience's letter and e-mail
    everyone invited their own copy (page link and PDF)."""
    built = await _build(session, settings, room, draft_until, amended_at=None)
    await session.execute(_letters(room.meeting.id, built).on_conflict_do_nothing(constraint=LETTER_KEY))
    rows = await session.scalars(select(OutcomeLetter).where(OutcomeLetter.meeting_id == room.meeting.id))
    await _send(session, settings, room, {row.audience: row.snapshot for row in rows}, f"letter:{room.meeting.id}")


async def amend_letters(
    session: AsyncSession, settings: Settings, meeting_id: uuid.UUID, recorded_at: datetime
) -> bool:
    """Inside the transaction that records a conference outcome (at ``recorded_at``) after the
    meeting ended: build the letters again with it, replace the copies and send everyone
    invited the amended one, once per recording. False (and nothing sent) when no letter went
    yet, as for a meeting that ended before letters."""
    review = await session.get(MinutesReview, meeting_id)
    if review is None:
        return False
    room = await load_room(session, meeting_id)
    built = await _build(session, settings, room, review.draft_until, amended_at=recorded_at)
    statement = _letters(meeting_id, built)
    await session.execute(
        statement.on_conflict_do_update(constraint=LETTER_KEY, set_={"snapshot": statement.excluded.snapshot})
    )
    dedupe = f"letter:{meeting_id}:amended:{recorded_at.isoformat()}"
    await _send(session, settings, room, built, dedupe, subject="Outcome, amended")
    return True


async def _build(
    session: AsyncSession, settings: Settings, room: Room, draft_until: date, *, amended_at: datetime | None
) -> dict[str, dict[str, Any]]:
    """Each audience's letter, from that audience's view of the room."""
    meeting = room.meeting
    now = meeting.ended_at or utcnow()
    outcome = None if room.conference.outcome is None else outcome_record(room.conference.outcome)
    following = await _next_meetings(session, meeting)
    milestones = await _open_milestones(session, settings, room.case.id)
    built = {}
    for audience in COPIES:
        minutes = snap.build_snapshot(view_for(room, audience, now))
        letter = build_letter(minutes, outcome, following, milestones, draft_until, amended_at=amended_at)
        built[minutes.audience] = msgspec.to_builtins(letter)
    return built


def _letters(meeting_id: uuid.UUID, built: dict[str, dict[str, Any]]) -> Insert:
    return insert(OutcomeLetter).values(
        [{"id": uuid.uuid4(), "meeting_id": meeting_id, "audience": a, "snapshot": s} for a, s in built.items()]
    )


async def _send(
    session: AsyncSession,
    settings: Settings,
    room: Room,
    letters: dict[str, dict[str, Any]],
    dedupe: str,
    *,
    subject: str = "Outcome",
) -> None:
    """E-mail everyone invited their audience's letter, once per ``dedupe`` key and person."""
    people = invited(room)
    attended = {row.user_id for row in room.attendance}
    pdfs = {a: await asyncio.to_thread(build_letter_pdf, letters[a]) for a in {a for _, a in people}}
    for user, copy in people:
        email = letter_email(settings, user, letters[copy], pdfs[copy], attended=user.id in attended, subject=subject)
        await enqueue(session, settings, email, dedupe_key=f"{dedupe}:{user.id}", case_id=room.case.id)


def letter_email(
    settings: Settings, user: User, letter: dict[str, Any], pdf: bytes, *, attended: bool, subject: str = "Outcome"
) -> Email:
    meeting = letter["meeting"]
    extra = {
        "letter": letter,
        "attended": attended,
        "minutes_link": f"{settings.base_url}/meetings/{meeting['id']}/minutes",
    }
    return record_email(settings, user, letter, pdf, kind="letter", subject=subject, extra=extra)


def letter_filename(letter: dict[str, Any]) -> str:
    return pdf_filename(letter, "outcome")


async def letter_for(
    caller: Caller,
    meeting_id: uuid.UUID,
    *,
    purpose: Literal["view", "export"] = "view",
    via: str = "page",
) -> LetterCopy:
    """This person's copy of the letter (the family's for a family member); 404 if they are not
    on the team or the meeting has not ended. Every read is audited."""
    session, actor, user = caller.db, caller.actor, caller.user
    async with transaction(session):
        visible, audience = await reader_copy(session, user, meeting_id)
        row = await session.scalar(
            select(OutcomeLetter).where(OutcomeLetter.meeting_id == meeting_id, OutcomeLetter.audience == audience)
        )
        if row is None:
            raise NotFound("The outcome letter is sent when the meeting ends.", code="letter_not_sent")
        record_meeting(session, actor, f"letter.{purpose}", visible.meeting, audience=audience, via=via)
    return LetterCopy(row.snapshot, audience, row.created_at)


async def _open_milestones(session: AsyncSession, settings: Settings, case_id: uuid.UUID) -> list[Milestone]:
    """The case's statutory milestones still to meet, soonest first, in the letter's words."""
    found = await case_milestones(session, case_id, today_local(), settings.timescales)
    return [
        Milestone(kind=m.kind.value, label=m.kind.label, due_on=m.due_on, meeting_id=m.meeting_id)
        for m in sorted(found, key=lambda m: m.due_on)
        if m.is_open
    ]


async def after_meeting(session: AsyncSession, settings: Settings, meeting_id: uuid.UUID) -> None:
    """Inside the transaction that ends the meeting: the minutes become a draft, and the outcome
    letter goes to everyone invited."""
    review = await open_draft(session, settings, meeting_id)
    await send_letters(session, settings, await load_room(session, meeting_id), review.draft_until)
