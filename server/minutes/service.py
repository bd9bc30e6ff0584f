"""Issuing the minutes when a meeting ends, and reading them afterwards.

Issuing runs inside the transaction that ends the meeting: the snapshots, the ended status and
the e-mails in the outbox commit together or not at all, so nobody is told about minutes that
do not exist, and minutes never exist without having been sent.
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

from server.audit.service import Actor, record
from server.cases.models import CaseRole
from server.config import REPO_ROOT, Settings
from server.errors import NotFound
from server.meetings.service import visible_meeting
from server.meetings.state import Audience, Room, load_room, view_for
from server.minutes import snapshot as snap
from server.minutes.models import IssuedMinutes
from server.minutes.pdf import build_pdf
from server.notify.outbox import Attachment, Email, enqueue
from server.people.models import User
from server.platform.db import transaction, utcnow

COPIES = (Audience.PROFESSIONALS, Audience.FAMILY)


class MinutesCopy(NamedTuple):
    """One person's copy of the minutes as issued."""

    snapshot: dict[str, Any]
    audience: str
    issued_at: datetime


# --- issuing -------------------------------------------------------------------------------------


async def issue_minutes(session: AsyncSession, settings: Settings, meeting_id: uuid.UUID) -> None:
    """Inside the caller's transaction: freeze the minutes per audience and e-mail each attendee
    their copy. Safe to repeat: the first snapshots stand and each person is e-mailed once."""
    room = await load_room(session, meeting_id)
    now = room.meeting.ended_at or utcnow()
    built = {snap.copy_audience(a): msgspec.to_builtins(snap.build_snapshot(view_for(room, a, now))) for a in COPIES}
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


async def _send(session: AsyncSession, settings: Settings, room: Room, issued: dict[str, dict[str, Any]]) -> None:
    people = recipients(room)
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
    meeting = snapshot["meeting"]
    context = {
        "name": user.name,
        "minutes": snapshot,
        "meeting": meeting,
        "link": f"{settings.base_url}/meetings/{meeting['id']}/minutes",
        "actions_link": f"{settings.base_url}/actions",
        "mine": snap.owned_by(snapshot, user.id),
        "when": snap.local_datetime,
        "day": snap.long_date,
    }
    templates = _mail_templates()
    return Email(
        to=[user.email],
        subject=f"Minutes: {meeting['title']} ({meeting['case']['reference']})",
        text=templates.get_template("email/minutes.txt").render(context),
        html=templates.get_template("email/minutes.html").render(context),
        attachments=[Attachment(pdf_filename(snapshot), pdf, "application", "pdf")],
    )


def pdf_filename(snapshot: dict[str, Any]) -> str:
    """A file name that says what it is and survives every mail client: ASCII only."""
    meeting = snapshot["meeting"]
    day = (meeting["ended_at"] or meeting["scheduled_at"] or "")[:10]
    raw = f"minutes-{meeting['case']['reference']}-{day}-{snapshot['audience']}"
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


async def minutes_for(
    session: AsyncSession,
    actor: Actor,
    user: User,
    meeting_id: uuid.UUID,
    *,
    purpose: Literal["view", "export"] = "view",
    via: str = "page",
) -> MinutesCopy:
    """This person's copy (the family's for a family member), if they are on the team and the
    minutes have been issued; 404 otherwise. Every read is audited."""
    async with transaction(session):
        visible = await visible_meeting(session, user, meeting_id)
        audience = "family" if visible.case.access.is_family else "professionals"
        row = await session.scalar(
            select(IssuedMinutes).where(IssuedMinutes.meeting_id == meeting_id, IssuedMinutes.audience == audience)
        )
        if row is None:
            raise NotFound(
                "The minutes have not been issued yet: they are issued when the meeting ends.",
                code="minutes_not_issued",
            )
        record(
            session,
            actor,
            f"minutes.{purpose}",
            "meeting",
            meeting_id,
            case_id=visible.meeting.case_id,
            meeting_id=meeting_id,
            audience=audience,
            via=via,
        )
    return MinutesCopy(row.snapshot, audience, row.created_at)
