"""Form posts for scheduling a meeting (meetings/new.html), and for moving and cancelling one
from its page (meetings/_schedule_form.html). Every problem is listed at once, beside its field,
with what was typed kept; the turn limit is asked, and refused, in minutes."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy import select

from server.cases import service as cases
from server.cases.milestones import case_milestones
from server.cases.models import CaseRole
from server.cases.timescales import next_needed
from server.errors import DomainError, Problems
from server.meetings import invitations, service
from server.meetings.models import Meeting, MeetingKind
from server.meetings.pages import meeting_page_again
from server.meetings.schedule_api import MeetingChange, move_meeting
from server.meetings.schedule_rules import meeting_problems
from server.platform.db import utcnow
from server.timeutil import today_local, zone
from server.web.caller import Caller
from server.web.form_posts import Fields, press_button, submit_form
from server.web.forms import checked, form_data, form_errors, form_page
from server.web.render import redirect
from server.web.types import HttpRequest

MAX_TURN_MINUTES = 60
DEFAULT_DURATION = 90


class Unreadable:
    """The problems found while reading a form's fields, before the rules see them."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def local_datetime(self, value: str | None, field: str, message: str) -> datetime | None:
        """A datetime-local field is the deployment's local time; keep its offset explicit."""
        if not value:
            self.problems[field] = message
            return None
        try:
            return datetime.fromisoformat(value).replace(tzinfo=zone())
        except ValueError:
            self.problems[field] = message
            return None

    def whole_number(self, value: str | None, field: str, message: str, low: int, high: int) -> int | None:
        if not value:
            return None
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            self.problems[field] = message
            return None
        return number

    def uuid(self, value: str | None, field: str, message: str) -> UUID | None:
        try:
            return UUID(value or "")
        except ValueError:
            self.problems[field] = message
            return None


def read_new_meeting(data: Fields, now: datetime) -> tuple[service.MeetingRequest | None, dict[str, str]]:
    """The scheduling form as a request, or every problem with it."""
    read = Unreadable()
    when = read.local_datetime(data.get("scheduled_at"), "scheduled_at", "Enter the date and time of the meeting.")
    chair_id = read.uuid(data.get("chair_id"), "chair_id", "Choose who chairs the meeting.")
    turn = read.whole_number(
        data.get("turn_limit_minutes"),
        "turn_limit_minutes",
        f"Enter the time for each turn as a whole number of minutes, from 1 to {MAX_TURN_MINUTES}.",
        1,
        MAX_TURN_MINUTES,
    )
    duration = read.whole_number(
        data.get("duration_minutes"),
        "duration_minutes",
        "Enter the length as a whole number of minutes, from 1 to 480 (8 hours).",
        1,
        8 * 60,
    )
    already_held = checked(data, "already_held")
    problems = meeting_problems(
        title=data.get("title", ""),
        kind=data.get("kind", ""),
        scheduled_at=when,
        duration_minutes=duration,
        location=data.get("location"),
        already_held=already_held,
        now=now,
    )
    problems = {**read.problems, **problems}
    if problems or when is None or chair_id is None:
        return None, problems
    request = service.MeetingRequest(
        title=data.get("title", ""),
        kind=data.get("kind", ""),
        scheduled_at=when,
        chair_id=chair_id,
        turn_limit_seconds=None if turn is None else turn * 60,
        duration_minutes=duration or DEFAULT_DURATION,
        location=data.get("location"),
        already_held=already_held,
    )
    return request, {}


def read_meeting_change(data: Fields) -> tuple[MeetingChange, Unreadable]:
    """The moving form as the API's change (an empty time is no change), and what could not be read."""
    read = Unreadable()
    when = (
        read.local_datetime(data["scheduled_at"], "scheduled_at", "Enter the new date and time of the meeting.")
        if data.get("scheduled_at")
        else None
    )
    duration = read.whole_number(
        data.get("duration_minutes"),
        "duration_minutes",
        "Enter the length as a whole number of minutes, from 1 to 480 (8 hours).",
        1,
        8 * 60,
    )
    return MeetingChange(scheduled_at=when, duration_minutes=duration, location=data.get("location")), read


def form_problems(error: DomainError, _values: Fields) -> dict[str, str]:
    """The service speaks of the API's fields; the form asks the turn limit in minutes."""
    problems = form_errors(error)
    if "turn_limit_seconds" in problems:
        problems.pop("turn_limit_seconds")
        problems["turn_limit_minutes"] = f"Enter the time for each turn in minutes, from 1 to {MAX_TURN_MINUTES}."
    return problems


class SchedulePages(Controller):
    include_in_schema = False

    async def _new_form(
        self, request: HttpRequest, caller: Caller, case_id: UUID, status_code: int = 200, **context: Any
    ) -> Template:
        db, user = caller.db, caller.user
        visible = await cases.managed_case(db, user, case_id)
        team = await cases.team(db, case_id)
        chairs = [m.user for m in team if m.role in (CaseRole.CHAIR, CaseRole.PROFESSIONAL) and m.user.is_active]
        needed = next_needed(await case_milestones(db, case_id, today_local(), caller.settings.timescales))
        defaults: dict[str, Any] = {"chair_id": str(user.id), "kind": "tac", "duration_minutes": DEFAULT_DURATION}
        if needed is not None:  # propose what the next statutory milestone needs, by its latest date
            defaults["kind"] = needed.meeting_kind
            if needed.due_on >= today_local():
                defaults["scheduled_at"] = f"{needed.due_on.isoformat()}T10:00"
        context.setdefault("values", defaults)
        return form_page(
            request,
            "meetings/new.html",
            status_code=status_code,
            case=visible.case,
            chairs=chairs,
            kinds=list(MeetingKind),
            needed=needed,
            **context,
        )

    @get("/cases/{case_id:uuid}/meetings/new")
    async def new_meeting(self, request: HttpRequest, case_id: UUID, caller: Caller) -> Template:
        return await self._new_form(request, caller, case_id)

    @post("/cases/{case_id:uuid}/meetings")
    async def schedule(self, request: HttpRequest, case_id: UUID, caller: Caller) -> Response[Any]:
        async def schedule(data: Fields) -> Response[Any]:
            await cases.managed_case(caller.db, caller.user, case_id)  # a case one may not manage: 404 or 403 first
            wanted, problems = read_new_meeting(data, utcnow())
            if wanted is None:
                raise Problems(problems)
            meeting = await service.schedule_meeting(
                caller.db, caller.actor, caller.user, case_id, wanted, settings=caller.settings
            )
            if wanted.already_held:
                flash = "Meeting recorded. No invitations were sent, as it has already taken place."
            else:
                flash = "Meeting scheduled. Everyone on the team has been sent an invitation."
            return redirect(request, f"/meetings/{meeting.id}", flash=flash)

        again = partial(self._new_form, request, caller, case_id)
        return await submit_form(request, schedule, again, errors=form_problems)

    @post("/meetings/{meeting_id:uuid}/reschedule")
    async def reschedule(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Response[Any]:
        """A refused move shows the meeting page again, except a meeting that can no longer be
        moved (409): that goes back to the page with the reason."""
        data = await form_data(request)
        back = f"/meetings/{meeting_id}"
        sequence = await caller.db.scalar(select(Meeting.calendar_sequence).where(Meeting.id == meeting_id))
        change, read = read_meeting_change(data)
        try:
            if read.problems:
                invitations.check_changes(change.scheduled_at, change.duration_minutes, change.location, utcnow())
                raise Problems(read.problems)
            meeting = await move_meeting(caller, meeting_id, change)
        except DomainError as error:
            problems = {**read.problems, **form_errors(error)}
            if error.status_code == 409:
                return redirect(request, back, flash=error.detail, category="error")
            again = meeting_page_again(request, caller, meeting_id, "schedule")
            return await again(status_code=422, errors=problems, values=data)
        moved = meeting.calendar_sequence != sequence
        flash = "Meeting moved. Everyone invited has been sent the new time." if moved else "Nothing changed."
        return redirect(request, back, flash=flash, category="success" if moved else "info")

    @post("/meetings/{meeting_id:uuid}/cancel")
    async def cancel(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Response[Any]:
        cancelled = invitations.cancel(caller, meeting_id)
        done = "Meeting cancelled. Everyone invited has been told."
        return await press_button(request, f"/meetings/{meeting_id}", cancelled, done)
