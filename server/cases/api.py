"""JSON API: cases, their team, their actions and their meetings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.plan import action_plan, api_filter
from server.actions.shapes import ActionOut, action_json
from server.audit.service import Actor, record
from server.audit.shapes import AuditRow, audit_json
from server.audit.trail import TrailFilter, case_trail
from server.cases import service, team
from server.cases.invitations import invite_family_member
from server.cases.milestones import case_milestones
from server.cases.shapes import (
    CaseDetail,
    CaseOut,
    InvitationOut,
    MemberOut,
    MemberRemoved,
    TimescalesOut,
    case_detail,
    case_json,
    invitation_json,
    member_json,
    timescales_json,
)
from server.config import Settings
from server.meetings import service as meetings
from server.meetings.shapes import MeetingSummary, meeting_summary
from server.people.models import User
from server.platform.db import transaction
from server.timeutil import today_local
from server.web.caller import Caller

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class NewCase(msgspec.Struct):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    display_name: Text200
    lead_professional_id: UUID


class NewMember(msgspec.Struct):
    user_id: UUID
    role: Annotated[str, msgspec.Meta(max_length=16)]


class CaseChange(msgspec.Struct):
    display_name: Text200 | None = None
    lead_professional_id: UUID | None = None


class RoleChange(msgspec.Struct):
    role: Annotated[str, msgspec.Meta(max_length=16)]


class NewMeeting(msgspec.Struct):
    title: Text200
    kind: Annotated[str, msgspec.Meta(max_length=32)]
    scheduled_at: datetime
    chair_id: UUID
    turn_limit_seconds: int | None = None
    duration_minutes: int = 90
    location: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    already_held: bool = False  # record a meeting that took place: a past time, no invitations sent


class NewInvitation(msgspec.Struct):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    name: Text200


class CasesApi(Controller):
    path = "/api/cases"
    tags = ["Cases"]

    @get("/")
    async def list_cases(self, db: AsyncSession, user: User) -> list[CaseOut]:
        return [case_json(case, role=role) for case, role in await service.cases_for(db, user)]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_case(self, data: NewCase, db: AsyncSession, user: User, actor: Actor) -> CaseDetail:
        case = await service.create_case(
            db,
            actor,
            user,
            reference=data.reference,
            display_name=data.display_name,
            lead_professional_id=data.lead_professional_id,
        )
        visible = await service.visible_case(db, user, case.id)
        return case_detail(case, role=visible.access.role, members=await service.team(db, case.id))

    @get("/{case_id:uuid}")
    async def get_case(self, case_id: UUID, db: AsyncSession, user: User, actor: Actor) -> CaseDetail:
        visible = await service.visible_case(db, user, case_id)
        async with transaction(db):
            record(db, actor, "case.view", "case", case_id, case_id=case_id, via="api")
        return case_detail(visible.case, role=visible.access.role, members=await service.team(db, case_id))

    @patch("/{case_id:uuid}")
    async def update_case(self, case_id: UUID, data: CaseChange, caller: Caller) -> CaseDetail:
        """Rename the case or name another lead professional (a professional on the team); the old
        and the new lead are told. Case chair or administrator."""
        case = await team.update_case(
            caller, case_id, display_name=data.display_name, lead_professional_id=data.lead_professional_id
        )
        visible = await service.visible_case(caller.db, caller.user, case.id)
        return case_detail(case, role=visible.access.role, members=await service.team(caller.db, case.id))

    @patch("/{case_id:uuid}/members/{user_id:uuid}")
    async def change_role(self, case_id: UUID, user_id: UUID, data: RoleChange, caller: Caller) -> MemberOut:
        """Change a member's role (professional or chair); a family member stays family."""
        return member_json(await team.change_role(caller, case_id, user_id, data.role))

    @get("/{case_id:uuid}/timescales")
    async def timescales(
        self, case_id: UUID, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> TimescalesOut:
        """The case's statutory milestones, met ones included, by due date (members)."""
        await service.visible_case(db, user, case_id, content=True)
        found = await case_milestones(db, case_id, today_local(), settings.timescales)
        async with transaction(db):
            record(db, actor, "case.view", "case", case_id, case_id=case_id, via="api:timescales")
        return timescales_json(found)

    @post("/{case_id:uuid}/members", status_code=HTTP_201_CREATED)
    async def add_member(self, case_id: UUID, data: NewMember, caller: Caller) -> MemberOut:
        return member_json(await service.add_member(caller, case_id, data.user_id, data.role))

    @delete("/{case_id:uuid}/members/{user_id:uuid}", status_code=200)
    async def remove_member(self, case_id: UUID, user_id: UUID, caller: Caller) -> MemberRemoved:
        await service.remove_member(caller, case_id, user_id)
        return MemberRemoved(removed=True, user_id=user_id)

    @get("/{case_id:uuid}/actions")
    async def list_actions(
        self, case_id: UUID, db: AsyncSession, user: User, actor: Actor, status: str | None = None
    ) -> list[ActionOut]:
        visible = await service.visible_case(db, user, case_id, content=True)
        today = today_local()
        found = await action_plan(
            db,
            case_id,
            api_filter(status),
            today=today,
            include_professionals_only=visible.access.sees_professionals_only,
        )
        async with transaction(db):
            record(db, actor, "action_plan.view", "case", case_id, case_id=case_id, via="api")
        return [action_json(a, today) for a in found]

    @get("/{case_id:uuid}/meetings")
    async def list_meetings(self, case_id: UUID, db: AsyncSession, user: User, actor: Actor) -> list[MeetingSummary]:
        await service.visible_case(db, user, case_id)
        async with transaction(db):
            record(db, actor, "case.view", "case", case_id, case_id=case_id, via="api:meetings")
        return [meeting_summary(m) for m in await meetings.meetings_of_case(db, case_id)]

    @post("/{case_id:uuid}/meetings", status_code=HTTP_201_CREATED)
    async def schedule_meeting(
        self, case_id: UUID, data: NewMeeting, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> MeetingSummary:
        request = meetings.MeetingRequest(**msgspec.structs.asdict(data))
        meeting = await meetings.schedule_meeting(db, actor, user, case_id, request, settings=settings)
        return meeting_summary(await meetings.reload(db, meeting.id))

    @post("/{case_id:uuid}/invitations", status_code=HTTP_201_CREATED)
    async def invite(self, case_id: UUID, data: NewInvitation, caller: Caller) -> InvitationOut:
        """Invite a parent, carer or young person: they join the team with the family role and get
        a single-use link (valid for ROUNDTABLE_INVITATION_DAYS) to set their password."""
        invited = await invite_family_member(caller, case_id, email=data.email, name=data.name)
        await caller.db.refresh(invited.user, ["agency"])
        return invitation_json(invited.user, new_account=invited.new_account)

    @get("/{case_id:uuid}/audit")
    async def audit_trail(
        self,
        case_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        verb: str | None = None,
        actor_id: UUID | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[AuditRow]:
        """The case's audit trail, newest first (the case's chair and administrators)."""
        filters = TrailFilter(verb=verb, actor_id=actor_id, since=since, until=until)
        return [audit_json(row) for row in await case_trail(db, actor, user, case_id, filters)]
