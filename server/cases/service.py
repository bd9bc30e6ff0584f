"""Cases and their teams. Every read goes through visibility; every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.caller import Caller
from server.cases.access import CaseAccess, access_for, may_create_case, role_fits_sector
from server.cases.models import Case, CaseMember, CaseRole
from server.errors import Conflict, Forbidden, Invalid, NotFound, Problems
from server.limits import too_long
from server.lookup import existing
from server.meetings.versions import bump_rooms_of_case, publish
from server.people.models import User
from server.platform.db import transaction


@dataclass(frozen=True, slots=True)
class VisibleCase:
    case: Case
    access: CaseAccess


async def role_of(session: AsyncSession, case_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(CaseMember.role).where(CaseMember.case_id == case_id, CaseMember.user_id == user_id)
    )


async def visible_case(session: AsyncSession, user: User, case_id: uuid.UUID, *, content: bool = False) -> VisibleCase:
    """The case if this user may see it (its content, when asked), else NotFound."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound("No such case.")
    access = access_for(await role_of(session, case_id, user.id), is_admin=user.is_admin)
    allowed = access.can_see_content if content else access.can_see_record
    if not allowed:
        raise NotFound("No such case.")
    return VisibleCase(case, access)


class OfCase(Protocol):
    """A row that belongs to one case: a meeting, an action…"""

    @property
    def case_id(self) -> uuid.UUID: ...


OfCaseT = TypeVar("OfCaseT", bound=OfCase)


async def visible_row(
    session: AsyncSession, user: User, model: type[OfCaseT], row_id: uuid.UUID, *, missing: str
) -> tuple[OfCaseT, VisibleCase]:
    """A meeting or an action with its case, if this user may see the case's content; the
    refusal speaks of the row (``missing``) whether it or the case is out of sight."""
    row = await existing(session, model, row_id, missing=missing)
    try:
        visible = await visible_case(session, user, row.case_id, content=True)
    except NotFound:
        raise NotFound(missing) from None
    return row, visible


async def managed_case(session: AsyncSession, user: User, case_id: uuid.UUID) -> VisibleCase:
    """The case if this user may change its team and schedule: 404 if unseen, 403 if seen only."""
    visible = await visible_case(session, user, case_id)
    if not visible.access.can_manage:
        raise Forbidden("Only the case's chair or an administrator can do that.", code="not_case_chair")
    return visible


async def cases_for(session: AsyncSession, user: User) -> Sequence[tuple[Case, str | None]]:
    """The cases this user sees, with their role (None for an administrator off the team)."""
    role = select(CaseMember.role).where(CaseMember.case_id == Case.id, CaseMember.user_id == user.id)
    query = select(Case, role.scalar_subquery()).order_by(Case.reference)
    if not user.is_admin:
        query = query.where(Case.id.in_(select(CaseMember.case_id).where(CaseMember.user_id == user.id)))
    return [(case, member_role) for case, member_role in (await session.execute(query)).all()]


async def team(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseMember]:
    members = await session.scalars(select(CaseMember).where(CaseMember.case_id == case_id))
    return sorted(members, key=lambda m: (m.role != CaseRole.CHAIR, m.role == CaseRole.FAMILY, m.user.name))


async def create_case(
    session: AsyncSession,
    actor: Actor,
    creator: User,
    *,
    reference: str,
    display_name: str,
    lead_professional_id: uuid.UUID,
) -> Case:
    """Open a case. A professional who opens it joins as its chair, so someone can run it."""
    reference, display_name = reference.strip(), display_name.strip()
    if not may_create_case(is_admin=creator.is_admin, sector=creator.agency.sector):
        raise Forbidden("Only professionals and administrators can open a case.", code="professionals_only")
    problems = {
        "reference": "Enter the case reference." if not reference else too_long(reference, 64, "the reference"),
        "display_name": "Enter a display name for the case."
        if not display_name
        else too_long(display_name, 200, "the display name"),
    }
    if found := {field: message for field, message in problems.items() if message}:
        raise Problems(found)
    async with transaction(session):
        lead = await session.get(User, lead_professional_id)
        if lead is None or lead.agency.sector == "family" or not lead.is_active:
            raise Invalid(
                "Choose a professional as the lead professional.",
                field="lead_professional_id",
                code="lead_not_professional",
            )
        if await session.scalar(select(Case.id).where(Case.reference == reference)):
            raise Conflict(
                f"A case with reference {reference!r} already exists.", field="reference", code="reference_taken"
            )
        case = Case(
            reference=reference,
            display_name=display_name,
            lead_professional_id=lead.id,
            created_by_id=creator.id,
        )
        session.add(case)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(
                f"A case with reference {reference!r} already exists.", field="reference", code="reference_taken"
            ) from None
        if not creator.is_admin:
            session.add(CaseMember(case_id=case.id, user_id=creator.id, role=CaseRole.CHAIR, added_by_id=creator.id))
        if lead.id != creator.id or creator.is_admin:
            session.add(
                CaseMember(
                    case_id=case.id,
                    user_id=lead.id,
                    role=CaseRole.PROFESSIONAL,
                    added_by_id=creator.id,
                )
            )
        record(session, actor, "case.create", "case", case.id, case_id=case.id, reference=reference)
    return case


async def chair_count(session: AsyncSession, case_id: uuid.UUID) -> int:
    """How many chairs the case has: the last one cannot step down or be taken off."""
    chairs = await session.scalar(
        select(func.count()).where(CaseMember.case_id == case_id, CaseMember.role == CaseRole.CHAIR)
    )
    return int(chairs or 0)


async def family_agency_id(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID | None:
    """The one agency a case's family members share (the first to join sets it), so the family
    has one voice in the queue and one position in a decision."""
    return await session.scalar(
        select(User.agency_id)
        .join(CaseMember, CaseMember.user_id == User.id)
        .where(CaseMember.case_id == case_id, CaseMember.role == CaseRole.FAMILY)
        .order_by(CaseMember.added_at)
        .limit(1)
    )


async def check_one_family_voice(session: AsyncSession, case_id: uuid.UUID, person: User) -> None:
    shared = await family_agency_id(session, case_id)
    if shared is not None and shared != person.agency_id:
        raise Conflict(
            f"{person.name}'s account is in another family agency than this case's family. An administrator "
            "can move them into the case's family agency, so that the family speaks with one voice.",
            field="user_id",
        )


def case_role(role: str) -> CaseRole:
    """The role named by ``role``; Invalid when it names none."""
    try:
        return CaseRole(role)
    except ValueError:
        raise Invalid("The role must be professional, family or chair.", field="role", code="unknown_role") from None


def check_role_fits(role: CaseRole, sector: str) -> None:
    """Family members hold the family role, and only they do."""
    if not role_fits_sector(role, sector):
        raise Invalid(
            "Family members join with the family role, and only they do.", field="role", code="role_not_for_sector"
        )


async def add_member(caller: Caller, case_id: uuid.UUID, user_id: uuid.UUID, role: str) -> CaseMember:
    """Put someone on the team; the case's open rooms show them at once."""
    session, actor, by = caller.db, caller.actor, caller.user
    new_role = case_role(role)
    async with transaction(session):
        await managed_case(session, by, case_id)
        rooms = await bump_rooms_of_case(session, case_id)
        user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise Invalid("Choose a person who has an account.", field="user_id", code="unknown_user")
        check_role_fits(new_role, user.agency.sector)
        if new_role is CaseRole.FAMILY:
            await check_one_family_voice(session, case_id, user)
        member = CaseMember(case_id=case_id, user_id=user_id, role=new_role, added_by_id=by.id)
        session.add(member)
        already = Conflict(f"{user.name} is already on this case's team.", field="user_id", code="already_member")
        try:
            await session.flush()
        except IntegrityError:
            raise already from None
        record(session, actor, "case.member.add", "user", user_id, case_id=case_id, role=new_role)
    await publish(caller.publisher, rooms)
    await session.refresh(member, ["user"])
    return member


async def remove_member(caller: Caller, case_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Take someone off the team; their open sockets on this case are closed at once."""
    session, actor, by = caller.db, caller.actor, caller.user
    async with transaction(session):
        visible = await managed_case(session, by, case_id)
        rooms = await bump_rooms_of_case(session, case_id)
        member = await session.get(CaseMember, (case_id, user_id))
        if member is None:
            raise NotFound("That person is not on this case's team.", code="not_on_team")
        if visible.case.lead_professional_id == user_id:
            raise Conflict("Name another lead professional before removing this one.", code="is_lead_professional")
        if member.role == CaseRole.CHAIR and not by.is_admin and await chair_count(session, case_id) == 1:
            raise Conflict("A case needs a chair: add another before removing this one.", code="last_chair")
        await session.delete(member)
        record(session, actor, "case.member.remove", "user", user_id, case_id=case_id)
    await publish(caller.publisher, rooms)
    await caller.publisher.access_changed()
