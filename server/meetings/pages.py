"""Pages: the meeting page with its agenda and invitees (scheduling is in schedule_pages.py)."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.cases import service as cases
from server.meetings import room as ops
from server.meetings import service
from server.meetings.commands import RoomCaller
from server.people.models import User
from server.platform.db import transaction
from server.reports.service import visible_reports
from server.web.caller import Caller
from server.web.commands import form_body
from server.web.form_posts import Fields, ShowAgain, submit_form
from server.web.forms import form_page
from server.web.render import redirect
from server.web.types import HttpRequest


async def meeting_page(
    request: HttpRequest,
    db: AsyncSession,
    user: User,
    actor: Actor,
    meeting_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """The meeting page; its forms (the agenda, moving the meeting) re-render it with their
    problems and what was typed."""
    visible = await service.visible_meeting(db, user, meeting_id)
    meeting = visible.meeting
    items = await service.agenda(db, meeting_id, include_professionals_only=visible.case.access.sees_professionals_only)
    reports = await visible_reports(db, request.app.state["runtime"].settings, user, visible)
    async with transaction(db):
        record(db, actor, "meeting.view", "meeting", meeting_id, case_id=meeting.case_id, meeting_id=meeting_id)
        if reports.reports:  # reading reports is in the audit trail like every view
            shown = len(reports.reports)
            record(
                db,
                actor,
                "report.view",
                "meeting",
                meeting_id,
                case_id=meeting.case_id,
                meeting_id=meeting_id,
                via="page",
                shown=shown,
            )
    return form_page(
        request,
        "meetings/meeting.html",
        status_code=status_code,
        meeting=meeting,
        case=visible.case.case,
        is_chair=visible.is_chair,
        can_manage=visible.case.access.can_manage,
        agenda=items,
        invitees=await cases.team(db, meeting.case_id),
        reports=reports,
        **context,
    )


def meeting_page_again(request: HttpRequest, caller: Caller, meeting_id: UUID, form: str) -> ShowAgain:
    """The meeting page shown again around its refused ``form`` (the agenda, moving the meeting)."""
    return partial(meeting_page, request, caller.db, caller.user, caller.actor, meeting_id, form=form)


class MeetingPages(Controller):
    include_in_schema = False

    @get("/meetings/{meeting_id:uuid}")
    async def meeting(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Template:
        return await meeting_page(request, caller.db, caller.user, caller.actor, meeting_id)

    @post("/meetings/{meeting_id:uuid}/agenda")
    async def add_item(self, request: HttpRequest, meeting_id: UUID, caller: Caller, room: RoomCaller) -> Response[Any]:
        async def add(data: Fields) -> Response[Any]:
            await room.run(ops.add_item, meeting_id, form_body(ops.add_item, data))
            return redirect(request, f"/meetings/{meeting_id}", flash="Agenda item added.")

        return await submit_form(request, add, meeting_page_again(request, caller, meeting_id, "agenda"))
