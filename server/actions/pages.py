"""Pages: an action with its history and what each person may do with it; the case's action
plan with filters and a CSV export; my actions across cases; my notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions import service
from server.actions.models import Action, ActionStatus, OutcomeArea
from server.actions.plan import PlanFilter, action_plan, plan_csv
from server.audit.service import Actor, record
from server.cases import service as cases
from server.errors import DomainError, Invalid
from server.notify import notifications
from server.people.models import User
from server.platform.db import transaction
from server.timeutil import today_local
from server.web.caller import Caller
from server.web.form_posts import Fields, submit_form
from server.web.forms import form_errors, form_page, parse_uuid
from server.web.render import page, redirect
from server.web.types import HttpRequest

OUTCOME_AREAS = [(area.value, area.label) for area in OutcomeArea]


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("Enter a date like 2026-12-01.", field=field) from None


# Each form on the action page has its own reason field, so an error lands beside the right one.
REASON_FIELDS = {
    "accepted": "decline_reason",
    "declined": "decline_reason",
    "due_date": "due_reason",
    "owner": "owner_reason",
    "snooze": "snooze_reason",
}


def reason_field(what: str) -> str:
    return REASON_FIELDS.get(what, "status_reason" if what in {s.value for s in ActionStatus} else "reason")


def change_from_form(data: dict[str, str]) -> service.ActionChange:
    """The action form has one button per kind of change; the button's value says which."""
    what = data.get("change", "")
    reason = data.get(reason_field(what)) or data.get("reason") or None
    if what in ("accepted", "declined"):
        return service.ActionChange(acceptance=what, reason=reason)
    if what in {s.value for s in ActionStatus}:
        return service.ActionChange(status=what, reason=reason)
    if what == "note":
        return service.ActionChange(progress_note=data.get("progress_note", ""))
    if what == "due_date":
        return service.ActionChange(due_date=_date(data.get("due_date"), "due_date"), reason=reason)
    if what == "owner":
        owner = parse_uuid(data.get("owner_id"), "owner_id", "Choose the new owner.")
        return service.ActionChange(owner_id=owner, reason=reason)
    if what == "snooze":
        return service.ActionChange(snoozed_until=_date(data.get("snoozed_until"), "snoozed_until"), reason=reason)
    raise Invalid("Choose what to change.")


def action_form_errors(error: DomainError, data: Fields) -> dict[str, str]:
    """The service names "reason" (and "status" for a refused status): name the field of the
    change this form's button asked for."""
    what = data.get("change", "")
    fields = {"reason": reason_field(what), "status": reason_field(what), "acceptance": "decline_reason"}
    return {fields.get(name, name): message for name, message in form_errors(error).items()}


def _uuid_or_none(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def plan_filter(
    user: User,
    show: Annotated[str | None, QueryParameter(name="state")] = None,  # "state" is reserved by Litestar
    overdue: bool = False,
    mine: bool = False,
    agency: str | None = None,  # the filter form sends "" for every agency
    area: str | None = None,
) -> PlanFilter:
    """The plan's filters from the query string; anything not understood means "not filtered"."""
    return PlanFilter(
        state=show if show in ("open", "closed", "all") else "open",
        overdue=overdue,
        owner_id=user.id if mine else None,
        agency_id=_uuid_or_none(agency),
        outcome_area=area if area in {value for value, _ in OUTCOME_AREAS} else None,
    )


PLAN_FILTER = {"chosen": Provide(plan_filter, sync_to_thread=False)}


class ActionPages(Controller):
    include_in_schema = False

    async def _action_page(
        self, request: HttpRequest, caller: Caller, action_id: UUID, status_code: int = 200, **context: Any
    ) -> Template:
        db = caller.db
        action, visible = await service.visible_action(db, caller.user, action_id)
        roles = await service.action_roles(db, action, caller.user)
        async with transaction(db):
            record(db, caller.actor, "action.view", "action", action_id, case_id=action.case_id, via="page")
        return form_page(
            request,
            "actions/action.html",
            status_code=status_code,
            action=action,
            case=visible.case,
            history=await service.history(db, action_id),
            roles=roles,
            team=await cases.team(db, action.case_id),
            today=today_local(),
            **context,
        )

    @get("/actions/{action_id:uuid}")
    async def action(self, request: HttpRequest, action_id: UUID, caller: Caller) -> Template:
        return await self._action_page(request, caller, action_id)

    @post("/actions/{action_id:uuid}")
    async def change(self, request: HttpRequest, action_id: UUID, caller: Caller) -> Response[Any]:
        async def save(data: Fields) -> Response[Any]:
            change = change_from_form(data)
            await service.change_action(
                caller.db,
                caller.publisher,
                caller.settings,
                caller.actor,
                caller.user,
                action_id,
                change,
                today=today_local(),
            )
            return redirect(request, f"/actions/{action_id}", flash="Saved. Everyone on the team can see the change.")

        again = partial(self._action_page, request, caller, action_id)
        return await submit_form(request, save, again, errors=action_form_errors)

    async def _plan(
        self, db: AsyncSession, user: User, case_id: UUID, chosen: PlanFilter
    ) -> tuple[cases.VisibleCase, Sequence[Action]]:
        visible = await cases.visible_case(db, user, case_id, content=True)
        rows = await action_plan(
            db, case_id, chosen, today=today_local(), include_professionals_only=visible.access.sees_professionals_only
        )
        return visible, rows

    @get("/cases/{case_id:uuid}/actions", dependencies=PLAN_FILTER)
    async def plan(
        self,
        request: HttpRequest,
        case_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        chosen: PlanFilter,
    ) -> Template:
        visible, rows = await self._plan(db, user, case_id, chosen)
        async with transaction(db):
            record(db, actor, "action_plan.view", "case", case_id, case_id=case_id, via="page")
        team = await cases.team(db, case_id)
        agencies = sorted({m.user.agency.id: m.user.agency for m in team}.values(), key=lambda a: a.name)
        return page(
            request,
            "actions/plan.html",
            case=visible.case,
            rows=rows,
            filters=chosen,
            mine=chosen.owner_id is not None,
            agencies=agencies,
            areas=OUTCOME_AREAS,
            today=today_local(),
        )

    @get("/cases/{case_id:uuid}/actions.csv", dependencies=PLAN_FILTER)
    async def plan_csv(
        self, case_id: UUID, db: AsyncSession, user: User, actor: Actor, chosen: PlanFilter
    ) -> Response[str]:
        visible, rows = await self._plan(db, user, case_id, chosen)
        async with transaction(db):
            record(db, actor, "action_plan.export", "case", case_id, case_id=case_id, rows=len(rows))
        return Response(
            plan_csv(rows, today_local()),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="action-plan-{visible.case.reference}.csv"'},
        )

    @get("/actions")
    async def mine(self, request: HttpRequest, db: AsyncSession, user: User, overdue: bool = False) -> Template:
        rows = await service.open_actions_of_owner(db, user.id)
        today = today_local()
        if overdue:
            rows = [a for a in rows if a.due_date < today]
        return page(request, "actions/mine.html", my_actions=rows, today=today, overdue=overdue)

    @get("/notifications")
    async def inbox(self, request: HttpRequest, db: AsyncSession, user: User) -> Template:
        items = await notifications.inbox(db, user.id, limit=100)
        return page(request, "actions/notifications.html", items=items)

    @post("/notifications/read")
    async def mark_read(self, request: HttpRequest, db: AsyncSession, user: User) -> Response[Any]:
        await notifications.mark_all_read(db, user.id)
        return redirect(request, "/notifications", flash="All marked as read.")
