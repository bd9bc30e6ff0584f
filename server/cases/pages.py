"""Pages: my cases (the home page), a case with its team and plan, opening a case, my actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions import service as actions
from server.actions.models import Action
from server.actions.plan import PlanFilter, action_plan
from server.audit.models import AuditEvent
from server.audit.service import record
from server.audit.trail import TrailFilter, case_trail, names_for, readable_trail, trail_csv
from server.cases import service
from server.cases import team as team_changes
from server.cases.access import may_create_case
from server.cases.invitations import invite_family_member
from server.cases.milestones import case_milestones, open_milestones
from server.cases.models import CaseMember, CaseRole
from server.conference.service import case_scales, trends
from server.config import Settings
from server.errors import Forbidden
from server.meetings import service as meetings
from server.people import service as people
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.timeutil import today_local
from server.web.caller import Caller
from server.web.form_posts import Fields, ShowAgain, press_button, submit_form
from server.web.forms import form_data, form_page, parse_uuid
from server.web.render import page, redirect
from server.web.types import HttpRequest


def trail_filter(
    verb: str | None = None, since: date | None = None, until: date | None = None, who: UUID | None = None
) -> TrailFilter:
    """The audit page's filters from the query string; an empty verb means every verb."""
    return TrailFilter(verb=verb or None, actor_id=who, since=since, until=until)


TRAIL_FILTER = {"filters": Provide(trail_filter, sync_to_thread=False)}


class CasePages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: HttpRequest, db: AsyncSession, user: User) -> Template:
        mine = await service.cases_for(db, user)
        settings: Settings = request.app.state["runtime"].settings
        # A chair and a lead see which of their cases have a milestone due soon or overdue.
        answerable = [case.id for case, role in mine if role == CaseRole.CHAIR or case.lead_professional_id == user.id]
        found = await open_milestones(db, answerable, today_local(), settings.timescales)
        flags = {case_id: [m for m in ms if m.state.value in ("due_soon", "overdue")] for case_id, ms in found.items()}
        return page(
            request,
            "cases/home.html",
            cases=mine,
            timescale_flags={case_id: ms for case_id, ms in flags.items() if ms},
            my_actions=await actions.open_actions_of_owner(db, user.id),
            next_meetings=await meetings.upcoming_meetings_for(db, user, utcnow() - timedelta(hours=4)),
            can_create=may_create_case(is_admin=user.is_admin, sector=user.agency.sector),
            today=today_local(),
        )

    async def _new_form(
        self, request: HttpRequest, db: AsyncSession, status_code: int = 200, **context: Any
    ) -> Template:
        professionals = [u for u in await people.list_users(db) if u.agency.sector != "family" and u.is_active]
        return form_page(
            request,
            "cases/new.html",
            status_code=status_code,
            professionals=professionals,
            **context,
        )

    @get("/cases/new")
    async def new_case(self, request: HttpRequest, db: AsyncSession, user: User) -> Template:
        if not may_create_case(is_admin=user.is_admin, sector=user.agency.sector):
            raise Forbidden("Only professionals and administrators can open a case.")
        return await self._new_form(request, db, values={"lead_professional_id": str(user.id)})

    @post("/cases")
    async def create_case(self, request: HttpRequest, caller: Caller) -> Response[Any]:
        async def create(data: Fields) -> Response[Any]:
            lead = parse_uuid(data.get("lead_professional_id"), "lead_professional_id", "Choose the lead professional.")
            case = await service.create_case(
                caller.db,
                caller.actor,
                caller.user,
                reference=data.get("reference", ""),
                display_name=data.get("display_name", ""),
                lead_professional_id=lead,
            )
            return redirect(request, f"/cases/{case.id}", flash=f"Case {case.reference} opened.")

        return await submit_form(request, create, partial(self._new_form, request, caller.db))

    async def _case_page(
        self, request: HttpRequest, caller: Caller, case_id: UUID, status_code: int = 200, **context: Any
    ) -> Template:
        db, user = caller.db, caller.user
        visible = await service.visible_case(db, user, case_id)
        team = await service.team(db, case_id)
        plan: Sequence[Action] = []
        if visible.access.can_see_content:
            plan = await action_plan(
                db,
                case_id,
                PlanFilter(state="all"),
                today=today_local(),
                include_professionals_only=visible.access.sees_professionals_only,
            )
        candidates = []
        if visible.access.can_manage:
            on_team = {m.user_id for m in team}
            candidates = [u for u in await people.list_users(db) if u.id not in on_team and u.is_active]
        milestones = []
        if visible.access.can_see_content:
            milestones = await case_milestones(db, case_id, today_local(), caller.settings.timescales)
        async with transaction(db):
            record(db, caller.actor, "case.view", "case", case_id, case_id=case_id, via="page")
        return form_page(
            request,
            "cases/case.html",
            status_code=status_code,
            case=visible.case,
            access=visible.access,
            team=team,
            plan=plan,
            candidates=candidates,
            meetings=await meetings.meetings_of_case(db, case_id),
            roles=[r.value for r in CaseRole],
            today=today_local(),
            scale_trends=trends(await case_scales(db, user, case_id)) if visible.access.can_see_content else [],
            milestones=milestones,
            leads=[m.user for m in team if m.role != CaseRole.FAMILY and m.user.is_active],
            **context,
        )

    def _case_again(self, request: HttpRequest, caller: Caller, case_id: UUID) -> ShowAgain:
        return partial(self._case_page, request, caller, case_id)

    @get("/cases/{case_id:uuid}")
    async def case(self, request: HttpRequest, case_id: UUID, caller: Caller) -> Template:
        return await self._case_page(request, caller, case_id)

    @post("/cases/{case_id:uuid}/members")
    async def add_member(self, request: HttpRequest, case_id: UUID, caller: Caller) -> Response[Any]:
        async def add(data: Fields) -> Response[Any]:
            member_id = parse_uuid(data.get("user_id"), "user_id", "Choose a person to add.")
            member = await service.add_member(caller, case_id, member_id, data.get("role", ""))
            return redirect(request, f"/cases/{case_id}", flash=f"{member.user.name} joined the team.")

        return await submit_form(request, add, self._case_again(request, caller, case_id))

    @post("/cases/{case_id:uuid}/details")
    async def change_case(self, request: HttpRequest, case_id: UUID, caller: Caller) -> Response[Any]:
        async def change(data: Fields) -> Response[Any]:
            lead = parse_uuid(data.get("lead_professional_id"), "lead_professional_id", "Choose the lead professional.")
            await team_changes.update_case(
                caller,
                case_id,
                display_name=data.get("display_name", ""),
                lead_professional_id=lead,
            )
            return redirect(request, f"/cases/{case_id}", flash="The case was changed.")

        return await submit_form(request, change, self._case_again(request, caller, case_id))

    @post("/cases/{case_id:uuid}/members/{user_id:uuid}/role")
    async def change_role(self, request: HttpRequest, case_id: UUID, user_id: UUID, caller: Caller) -> Response[Any]:
        role = (await form_data(request)).get("role", "")
        changed = team_changes.change_role(caller, case_id, user_id, role)
        return await press_button(request, f"/cases/{case_id}", changed, _now_in_role)

    @post("/cases/{case_id:uuid}/members/{user_id:uuid}/remove")
    async def remove_member(self, request: HttpRequest, case_id: UUID, user_id: UUID, caller: Caller) -> Response[Any]:
        removed = service.remove_member(caller, case_id, user_id)
        return await press_button(request, f"/cases/{case_id}", removed, "Removed from the team.")

    @post("/cases/{case_id:uuid}/invitations")
    async def invite(self, request: HttpRequest, case_id: UUID, caller: Caller) -> Response[Any]:
        async def send(data: Fields) -> Response[Any]:
            email, name = data.get("invite_email", ""), data.get("invite_name", "")
            invited = await invite_family_member(caller, case_id, email=email, name=name)
            return redirect(request, f"/cases/{case_id}", flash=f"Invitation sent to {invited.user.name}.")

        again = self._case_again(request, caller, case_id)
        return await submit_form(request, send, again, prefix="invite_", default="email")

    @get("/cases/{case_id:uuid}/audit", dependencies=TRAIL_FILTER)
    async def audit(
        self,
        request: HttpRequest,
        case_id: UUID,
        caller: Caller,
        filters: TrailFilter,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Template:
        db, user = caller.db, caller.user
        trail = await readable_trail(db, caller.actor, user, case_id, filters, page=page_number)
        visible = await service.visible_case(db, user, case_id)
        return page(
            request,
            "cases/audit.html",
            case=visible.case,
            trail=trail,
            filters=filters,
            team=await service.team(db, case_id),
        )

    @get("/cases/{case_id:uuid}/audit.csv", dependencies=TRAIL_FILTER)
    async def audit_csv(self, case_id: UUID, caller: Caller, filters: TrailFilter) -> Response[str]:
        db, user = caller.db, caller.user
        rows = await case_trail(db, caller.actor, user, case_id, filters, export=True)
        visible = await service.visible_case(db, user, case_id)
        words = await names_for(db, rows, content=visible.access.can_see_content)
        return Response(
            trail_csv(rows, await _names(db, rows), words),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit-{case_id}.csv"'},
        )


def _now_in_role(member: CaseMember) -> str:
    return f"{member.user.name} is now {member.role} on the team."


async def _names(db: AsyncSession, rows: Sequence[AuditEvent]) -> dict[UUID, str]:
    ids = {row.actor_id for row in rows if row.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u.name for u in await db.scalars(select(User).where(User.id.in_(ids)))}
