"""Form posts for moving and cancelling a scheduled meeting from its page (meetings/_schedule_form.html)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Response, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.errors import DomainError, Invalid
from server.live.events import Publisher
from server.meetings import invitations
from server.meetings.models import Meeting
from server.people.models import User
from server.timeutil import zone
from server.web.forms import form_data, form_message, parse_int
from server.web.render import redirect
from server.web.types import HttpRequest


def _local_datetime(value: str | None) -> datetime | None:
    """A datetime-local field is the deployment's local time; empty means unchanged."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone())
    except ValueError:
        raise Invalid("Enter the new date and time of the meeting.", field="scheduled_at") from None


class SchedulePages(Controller):
    include_in_schema = False
    path = "/meetings/{meeting_id:uuid}"

    @post("/reschedule")
    async def reschedule(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> Response[Any]:
        data = await form_data(request)
        back = f"/meetings/{meeting_id}"
        sequence = await db.scalar(select(Meeting.calendar_sequence).where(Meeting.id == meeting_id))
        try:
            meeting = await invitations.reschedule(
                db,
                publisher,
                actor,
                user,
                meeting_id,
                settings=settings,
                scheduled_at=_local_datetime(data.get("scheduled_at")),
                duration_minutes=parse_int(
                    data.get("duration_minutes"), "duration_minutes", "Enter the length in whole minutes."
                ),
                location=data.get("location"),
            )
        except DomainError as error:
            return redirect(request, back, flash=form_message(error), category="error")
        moved = meeting.calendar_sequence != sequence
        flash = "Meeting moved. Everyone invited has been sent the new time." if moved else "Nothing changed."
        return redirect(request, back, flash=flash, category="success" if moved else "info")

    @post("/cancel")
    async def cancel(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> Response[Any]:
        back = f"/meetings/{meeting_id}"
        try:
            await invitations.cancel(db, publisher, actor, user, meeting_id, settings=settings)
        except DomainError as error:
            return redirect(request, back, flash=form_message(error), category="error")
        return redirect(request, back, flash="Meeting cancelled. Everyone invited has been told.")
