"""The minutes of a meeting: the draft opened when the meeting ends, the copies frozen and
e-mailed when the chair approves them, and reading either.

Until approval the draft is built afresh from the meeting's record (decisions, actions, the
conference outcome, each item's minutes as the chair edits them), so a correction the chair
applies shows at once. Approval freezes one snapshot per audience: from then on later changes to
actions do not rewrite what was agreed. Opening the draft runs inside the transaction that ends
the meeting, with the outcome letter (letter.py); approval e-mails in its own transaction, so
nobody is told of minutes that do not exist, and minutes never exist without having been sent.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record_meeting
from server.caller import Caller
from server.cases.models import CaseRole
from server.config import REPO_ROOT, Settings
from server.errors import NotFound
from server.meetings.models import Meeting
from server.meetings.reading import load_room
from server.meetings.service import VisibleMeeting, visible_meeting
from server.meetings.state import Audience, Room, view_for
from server.minutes import rules
from server.minutes import snapshot as snap
from server.minutes.models import IssuedMinutes, MinutesReview, MinutesStatus
from server.minutes.pdf import build_pdf
from server.notify.outbox import Attachment, Email, enqueue
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.timeutil import today_local

COPIES = (Audience.PROFESSIONALS, Audience.FAMILY)
DRAFT_LABELS = {"professionals": "Draft: professionals' copy", "family": "Draft: family copy"}


class MinutesCopy(NamedTuple):
    """One person's copy of the minutes: the draft as it stands, or the approved record."""

    snapshot: dict[str, Any]
    audience: str
    issued_at: datetime
    status: str
    review: MinutesReview | None
    visible: VisibleMeeting


# --- building ------------------------------------------------------------------------------------


async def build_copies(
    session: AsyncSession, meeting_id: uuid.UUID, *, draft: bool, only: str | None = None
) -> tuple[Room, dict[str, dict[str, Any]]]:
    """Each audience's copy (or ``only`` that one) from the meeting's record as it is now."""
    room = await load_room(session, meeting_id)
    now = room.meeting.ended_at or utcnow()
    built = {}
    for audience in COPIES:
        name = snap.copy_audience(audience)
        if only is not None and name != only:
            continue
        minutes = snap.build_snapshot(view_for(room, audience, now))
        if draft:
            minutes.copy_label = DRAFT_LABELS[name]
        built[name] = msgspec.to_builtins(minutes)
    return room, built


def invited(room: Room) -> list[tuple[User, str]]:
    """Everyone on the team (each was invited to the meeting), present or not, with the copy
    their case role gives."""
    return [
        (member.user, "family" if member.role == CaseRole.FAMILY else "professionals")
        for member in sorted(room.team, key=lambda m: m.user.name.casefold())
        if member.user.is_active
    ]


def recipients(room: Room) -> list[tuple[User, str]]:
    """Everyone who attended and is still on the team, with the copy their case role gives."""
    roles = {member.user_id: member.role for member in room.team}
    result = []
    for row in room.attendance:
        role = roles.get(row.user_id)
        if role is None or not row.user.is_active:
            continue
        result.append((row.user, "family" if role == CaseRole.FAMILY else "professionals"))
    return result


# --- the draft, when the meeting ends ------------------------------------------------------------


async def open_draft(session: AsyncSession, settings: Settings, meeting_id: uuid.UUID) -> MinutesReview:
    """Inside the transaction that ends the meeting: the minutes become a draft open to
    corrections until ``draft_until``. Safe to repeat: the first review stands."""
    review = await session.get(MinutesReview, meeting_id)
    if review is not None:
        return review
    meeting = await session.get(Meeting, meeting_id)
    assert meeting is not None
    ended = meeting.ended_at or utcnow()
    until = rules.draft_until(today_local(ended), settings.correction_working_days, settings.chase)
    await session.execute(
        insert(MinutesReview)
        .values(meeting_id=meeting_id, status=MinutesStatus.DRAFT, draft_until=until, drafted_at=ended)
        .on_conflict_do_nothing(index_elements=["meeting_id"])
    )
    review = await session.get(MinutesReview, meeting_id, populate_existing=True)
    assert review is not None
    return review


# --- approval: freeze and send -------------------------------------------------------------------


async def issue_minutes(session: AsyncSession, settings: Settings, meeting_id: uuid.UUID) -> None:
    """Inside the caller's transaction: freeze the minutes per audience and e-mail everyone
    invited their copy. Safe to repeat: the first snapshots stand and each person is e-mailed
    once."""
    room, built = await build_copies(session, meeting_id, draft=False)
    await session.execute(
        insert(IssuedMinutes)
        .values(
            [{"id": uuid.uuid4(), "meeting_id": meeting_id, "audience": a, "snapshot": s} for a, s in built.items()]
        )
        .on_conflict_do_nothing(constraint="uq_issued_minutes_meeting_audience")
    )
    issued = await _issued(session, meeting_id)
    await _send(session, settings, room, issued)


async def _issued(session: AsyncSession, meeting_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The copies on record (after a repeat, the first ones, not the ones just built)."""
    rows = await session.scalars(select(IssuedMinutes).where(IssuedMinutes.meeting_id == meeting_id))
    return {row.audience: row.snapshot for row in rows}


async def _send(session: AsyncSession, settings: Settings, room: Room, issued: dict[str, dict[str, Any]]) -> None:
    people = invited(room)
    # Two PDFs at most, built off the event loop so the live rooms of other meetings keep moving.
    pdfs = {audience: await asyncio.to_thread(build_pdf, issued[audience]) for audience in {a for _, a in people}}
    for user, audience in people:
        await enqueue(
            session,
            settings,
            minutes_email(settings, user, issued[audience], pdfs[audience]),
            dedupe_key=f"minutes:{room.meeting.id}:{user.id}",
            case_id=room.case.id,
        )


def minutes_email(settings: Settings, user: User, snapshot: dict[str, Any], pdf: bytes) -> Email:
    return record_email(settings, user, snapshot, pdf, kind="minutes", subject="Minutes", extra={"minutes": snapshot})


FILE_PREFIX = {"minutes": "minutes", "letter": "outcome"}


def record_email(
    settings: Settings,
    user: User,
    record: dict[str, Any],
    pdf: bytes,
    *,
    kind: Literal["minutes", "letter"],
    subject: str,
    extra: dict[str, Any],
) -> Email:
    """One person's e-mail of a meeting's record (the minutes, the outcome letter): the words
    from ``email/<kind>.txt`` and ``.html``, the record's PDF attached."""
    meeting = record["meeting"]
    context = {
        "name": user.name,
        "meeting": meeting,
        "link": f"{settings.base_url}/meetings/{meeting['id']}/{kind}",
        "actions_link": f"{settings.base_url}/actions",
        "mine": snap.owned_by(record, user.id),
        "when": snap.local_datetime,
        "day": snap.long_date,
        **extra,
    }
    templates = _mail_templates()
    return Email(
        to=[user.email],
        subject=f"{subject}: {meeting['title']} ({meeting['case']['reference']})",
        text=templates.get_template(f"email/{kind}.txt").render(context),
        html=templates.get_template(f"email/{kind}.html").render(context),
        attachments=[Attachment(pdf_filename(record, FILE_PREFIX[kind]), pdf, "application", "pdf")],
    )


def pdf_filename(record: dict[str, Any], prefix: str = "minutes") -> str:
    """A file name that says what it is and survives every mail client: ASCII only."""
    meeting = record["meeting"]
    day = (meeting["ended_at"] or meeting["scheduled_at"] or "")[:10]
    raw = f"{prefix}-{meeting['case']['reference']}-{day}-{record['audience']}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-") + ".pdf"


@lru_cache(maxsize=1)
def _mail_templates() -> Environment:
    """E-mail bodies are rendered outside a request, so they get their own small environment
    over the same template folder (HTML escaped, plain text not)."""
    return Environment(
        loader=FileSystemLoader(REPO_ROOT / "web" / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# --- reading -------------------------------------------------------------------------------------


async def reader_copy(session: AsyncSession, user: User, meeting_id: uuid.UUID) -> tuple[VisibleMeeting, str]:
    """The meeting if this person is on its team, and the copy they read of its minutes and
    letter: the family's for a family member, the professionals' for everyone else."""
    visible = await visible_meeting(session, user, meeting_id)
    return visible, "family" if visible.case.access.is_family else "professionals"


async def minutes_for(
    caller: Caller,
    meeting_id: uuid.UUID,
    *,
    purpose: Literal["view", "export"] = "view",
    via: str = "page",
    audited: bool = True,
) -> MinutesCopy:
    """This person's copy (the family's for a family member), if they are on the team and the
    meeting has ended: the draft as it stands, or the approved record; 404 otherwise. Every read
    is audited."""
    session, actor, user = caller.db, caller.actor, caller.user
    async with transaction(session):
        visible, audience = await reader_copy(session, user, meeting_id)
        review = await session.get(MinutesReview, meeting_id, populate_existing=True)
        row = await session.scalar(
            select(IssuedMinutes).where(IssuedMinutes.meeting_id == meeting_id, IssuedMinutes.audience == audience)
        )
        if review is not None and review.status == MinutesStatus.DRAFT:
            _, built = await build_copies(session, meeting_id, draft=True, only=audience)
            copy = MinutesCopy(built[audience], audience, review.drafted_at, MinutesStatus.DRAFT, review, visible)
        elif row is not None:
            copy = MinutesCopy(row.snapshot, audience, row.created_at, MinutesStatus.APPROVED, review, visible)
        else:
            raise NotFound(
                "There are no minutes yet: they are drafted when the meeting ends.",
                code="minutes_not_issued",
            )
        if audited:
            record_meeting(
                session, actor, f"minutes.{purpose}", visible.meeting, audience=audience, via=via, status=copy.status
            )
    return copy
