"""Changing a case and its team: the display name, the lead professional, a member's role.

The TAC decides who leads, in the meeting, so the chair (or an administrator) can name another
lead professional at any time: a professional on the team. The old and the new lead are told in
the app and by e-mail (which links, and carries no child's name), in the transaction of the
change, and the change is in the audit trail."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record
from server.caller import Caller
from server.cases.models import Case, CaseMember, CaseRole
from server.cases.service import case_role, chair_count, check_role_fits, managed_case
from server.config import Settings
from server.errors import Conflict, Invalid, NotFound, Problem, Problems
from server.limits import NAME, too_long
from server.live.events import MeetingChanged
from server.meetings.versions import bump_rooms_of_case, publish
from server.notify.notifications import Note, add
from server.notify.outbox import Email, enqueue
from server.people.models import User
from server.platform.db import transaction


async def update_case(
    caller: Caller,
    case_id: uuid.UUID,
    *,
    display_name: str | None = None,
    lead_professional_id: uuid.UUID | None = None,
) -> Case:
    """Rename the case and/or name another lead professional; nothing changes on a bad field."""
    session, actor, by = caller.db, caller.actor, caller.user
    told: set[uuid.UUID] = set()
    rooms: list[MeetingChanged] = []
    async with transaction(session):
        case = (await managed_case(session, by, case_id)).case
        problems: dict[str, str] = {}
        name = None if display_name is None else display_name.strip()
        if name is not None and not name:
            problems["display_name"] = "Enter a display name for the case."
        elif name is not None and (message := too_long(name, NAME, "the display name")):
            problems["display_name"] = message
        lead: User | None = None
        if lead_professional_id is not None and lead_professional_id != case.lead_professional_id:
            member = await session.get(CaseMember, (case_id, lead_professional_id))
            lead = member.user if member is not None else None
            if (
                member is None
                or lead is None
                or member.role == CaseRole.FAMILY
                or lead.agency.sector == "family"
                or not lead.is_active
            ):
                problems["lead_professional_id"] = Problem(
                    "Choose a professional on this case's team as the lead professional.", "lead_not_professional"
                )
        if problems:
            raise Problems(problems)
        if name is not None and name != case.display_name:
            rooms = await bump_rooms_of_case(session, case.id)  # the rooms show the case's name
            record(session, actor, "case.rename", "case", case.id, case_id=case.id)
            case.display_name = name
        if lead is not None:
            old = await session.get(User, case.lead_professional_id)
            case.lead_professional_id = lead.id
            record(
                session,
                actor,
                "case.lead.change",
                "user",
                lead.id,
                case_id=case.id,
                previous=old.id if old else None,
            )
            await _tell_leads(session, caller.settings, case, old, lead, by)
            told = {lead.id} | ({old.id} if old else set())
    await session.refresh(case, ["lead_professional"])
    await publish(caller.publisher, rooms)
    if told:
        await caller.publisher.users_changed(told, "notification")
    return case


async def _tell_leads(
    session: AsyncSession, settings: Settings, case: Case, old: User | None, new: User, by: User
) -> None:
    link = f"/cases/{case.id}"
    add(
        session,
        Note(
            new.id,
            "lead_professional",
            f"You are now the lead professional for case {case.reference}",
            f"{by.name} named you the lead professional.",
            link,
            case.id,
        ),
    )
    lines = [f"{by.name} named you the lead professional for case {case.reference}.", "", "The case:"]
    await enqueue(session, settings, _email(settings, new, lines, link, case), case_id=case.id)
    if old is not None and old.is_active:
        add(
            session,
            Note(
                old.id,
                "lead_professional",
                f"You are no longer the lead professional for case {case.reference}",
                f"{by.name} named {new.name} the lead professional.",
                link,
                case.id,
            ),
        )
        lines = [f"{by.name} named {new.name} the lead professional for case {case.reference} in your place."]
        await enqueue(session, settings, _email(settings, old, [*lines, "", "The case:"], link, case), case_id=case.id)


def _email(settings: Settings, to: User, lines: list[str], link: str, case: Case) -> Email:
    text = "\n".join([f"Dear {to.name},", "", *lines, f"{settings.base_url}{link}", "", "Roundtable", ""])
    return Email([to.email], f"Lead professional — case {case.reference}", text)


async def change_role(caller: Caller, case_id: uuid.UUID, user_id: uuid.UUID, role: str) -> CaseMember:
    """A professional becomes a chair or back; a family member stays family (one family voice)."""
    session, actor, by = caller.db, caller.actor, caller.user
    new_role = case_role(role)
    async with transaction(session):
        await managed_case(session, by, case_id)
        member = await session.get(CaseMember, (case_id, user_id))
        if member is None:
            raise NotFound("That person is not on this case's team.", code="not_on_team")
        if member.role == CaseRole.FAMILY and new_role is not CaseRole.FAMILY:
            raise Invalid("A family member stays family.", field="role", code="family_stays_family")
        check_role_fits(new_role, member.user.agency.sector)
        if member.role == new_role:
            return member
        if member.role == CaseRole.CHAIR and not by.is_admin and await chair_count(session, case_id) == 1:
            raise Conflict("A case needs a chair: make someone else chair first.", code="last_chair")
        rooms = await bump_rooms_of_case(session, case_id)
        record(
            session, actor, "case.member.role", "user", user_id, case_id=case_id, role=new_role, previous=member.role
        )
        member.role = new_role
    await publish(caller.publisher, rooms)
    await caller.publisher.access_changed()
    return member
