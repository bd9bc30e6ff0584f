"""Pages: scheduling a meeting, and the meeting page with its agenda and invitees."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.cases import service as cases
from server.cases.models import CaseRole
from server.config import Settings
from server.errors import DomainError, Invalid
from server.meetings import room as ops
from server.meetings import service
from server.meetings.commands import RoomCaller
from server.meetings.models import MeetingKind
from server.people.models import User
from server.platform.db import transaction
from server.timeutil import zone
from server.web.commands import form_body
from server.web.forms import form_data, form_errors, form_page, parse_int, parse_uuid
from server.web.render import redirect
from server.web.types import HttpRequest


def _local_datetime(value: str | None) -> datetime:
    """A datetime-local field is the deployment's local time; keep its offset explicit."""
    try:
        return datetime.fromisoformat(value or "").replace(tzinfo=zone())
    except ValueError:
        raise Invalid("Enter the date and time of the meeting.", field="scheduled_at") from None


class MeetingPages(Controller):
    include_in_schema = False

    async def _new_form(
        self,
        request: HttpRequest,
        db: AsyncSession,
        user: User,
        case_id: UUID,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        visible = await cases.managed_case(db, user, case_id)
        team = await cases.team(db, case_id)
        chairs = [m.user for m in team if m.role in (CaseRole.CHAIR, CaseRole.PROFESSIONAL)]
        context.setdefault("values", {"chair_id": str(user.id), "kind": "tac"})
        return form_page(
            request,
            "meetings/new.html",
            status_code=status_code,
            case=visible.case,
            chairs=chairs,
            kinds=list(MeetingKind),
            **context,
        )

    @get("/cases/{case_id:uuid}/meetings/new")
    async def new_meeting(self, request: HttpRequest, case_id: UUID, db: AsyncSession, user: User) -> Template:
        return await self._new_form(request, db, user, case_id)

    @post("/cases/{case_id:uuid}/meetings")
    async def schedule(
        self,
        request: HttpRequest,
        case_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        settings: Settings,
    ) -> Response[Any]:
        data = await form_data(request)
        try:
            minutes = parse_int(
                data.get("turn_limit_minutes"),
                "turn_limit_minutes",
                "Enter the turn limit in whole minutes.",
            )
            req = service.MeetingRequest(
                title=data.get("title", ""),
                kind=data.get("kind", ""),
                scheduled_at=_local_datetime(data.get("scheduled_at")),
                chair_id=parse_uuid(data.get("chair_id"), "chair_id", "Choose who chairs the meeting."),
                turn_limit_seconds=None if not minutes else minutes * 60,
                location=data.get("location"),
            )
            meeting = await service.schedule_meeting(db, actor, user, case_id, req, settings=settings)
        except DomainError as error:
            return await self._new_form(request, db, user, case_id, 422, errors=form_errors(error), values=data)
        return redirect(request, f"/meetings/{meeting.id}", flash="Meeting scheduled.")

    async def _meeting_page(
        self,
        request: HttpRequest,
        db: AsyncSession,
        user: User,
        actor: Actor,
        meeting_id: UUID,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        visible = await service.visible_meeting(db, user, meeting_id)
        meeting = visible.meeting
        items = await service.agenda(
            db, meeting_id, include_professionals_only=visible.case.access.sees_professionals_only
        )
        async with transaction(db):
            record(
                db,
                actor,
                "meeting.view",
                "meeting",
                meeting_id,
                case_id=meeting.case_id,
                meeting_id=meeting_id,
            )
        return form_page(
            request,
            "meetings/meeting.html",
            status_code=status_code,
            meeting=meeting,
            case=visible.case.case,
            is_chair=visible.is_chair,
            agenda=items,
            invitees=await cases.team(db, meeting.case_id),
            **context,
        )

    @get("/meetings/{meeting_id:uuid}")
    async def meeting(
        self, request: HttpRequest, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor
    ) -> Template:
        return await self._meeting_page(request, db, user, actor, meeting_id)

    @post("/meetings/{meeting_id:uuid}/agenda")
    async def add_item(
        self, request: HttpRequest, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, room: RoomCaller
    ) -> Response[Any]:
        data = await form_data(request)
        try:
            await room.run(ops.add_item, meeting_id, form_body(ops.add_item, data))
        except DomainError as error:
            errors = form_errors(error)
            return await self._meeting_page(request, db, user, actor, meeting_id, 422, errors=errors, values=data)
        return redirect(request, f"/meetings/{meeting_id}", flash="Agenda item added.")
