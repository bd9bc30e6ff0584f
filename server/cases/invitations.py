"""Inviting a family member (parent, carer or young person) into a case by e-mail.

The chair gives a name and an e-mail address. A family account is made (in the agency the case's
family already shares, so a second parent does not make a second family: the family is one voice
in the queue and one position in a decision), it joins the team with the family role, and a
single-use link that expires lets them set a password and land in their case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record
from server.caller import Caller
from server.cases.models import Case, CaseMember, CaseRole
from server.cases.service import check_one_family_voice, family_agency_id, managed_case, role_of
from server.config import Settings
from server.errors import Conflict, Problems
from server.live.events import MeetingChanged
from server.meetings.versions import bump_rooms_of_case, publish
from server.notify.outbox import Email, enqueue
from server.people.models import Agency, Sector, User
from server.people.service import new_invitation, normalise_email, person_problems
from server.platform.db import transaction


@dataclass(frozen=True, slots=True)
class Invited:
    user: User
    new_account: bool


def family_agency_name(case: Case) -> str:
    return f"Family of case {case.reference}"


async def _family_agency(session: AsyncSession, case: Case) -> Agency:
    """The agency the case's family already shares; for the first family member, the case's own."""
    shared = await family_agency_id(session, case.id)
    if shared is not None:
        found = await session.get(Agency, shared)
        assert found is not None
        return found
    name = family_agency_name(case)
    agency = await session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name, sector=Sector.FAMILY)
        session.add(agency)
        await session.flush()
    return agency


async def invite_family_member(caller: Caller, case_id: uuid.UUID, *, email: str, name: str) -> Invited:
    """Invite a parent, carer or young person; one not yet on the team joins it with the family
    role, and the case's open rooms show them at once."""
    session, settings, actor, by = caller.db, caller.settings, caller.actor, caller.user
    rooms: list[MeetingChanged] = []
    email, name = normalise_email(email), name.strip()
    if problems := person_problems(email, name, None):
        raise Problems(problems)
    async with transaction(session):
        case = (await managed_case(session, by, case_id)).case
        user = await session.scalar(select(User).where(User.email == email))
        new_account = user is None
        if user is None:
            agency = await _family_agency(session, case)
            user = User(email=email, name=name, agency_id=agency.id, password_hash=None)
            session.add(user)
            await session.flush()
        elif user.agency.sector != Sector.FAMILY:
            raise Conflict(
                "That e-mail address belongs to a professional's account.", field="email", code="professional_email"
            )
        if await role_of(session, case_id, user.id) is None:
            await check_one_family_voice(session, case_id, user)
            rooms = await bump_rooms_of_case(session, case_id)
            session.add(CaseMember(case_id=case_id, user_id=user.id, role=CaseRole.FAMILY, added_by_id=by.id))
        secret = new_invitation(session, settings, user.id, case_id, by.id)
        link = f"{settings.base_url}/invitations/{secret}"
        await enqueue(session, settings, _invitation_email(settings, user, by, link), case_id=case_id)
        record(session, actor, "invitation.send", "user", user.id, case_id=case_id, new_account=new_account)
    await publish(caller.publisher, rooms)
    return Invited(user, new_account)


def _invitation_email(settings: Settings, user: User, by: User, link: str) -> Email:
    days = settings.invitation_days
    text = (
        f"Dear {user.name},\n\n"
        f"{by.name} has invited you to Roundtable, where the people working with your family meet, "
        "agree a plan together and keep track of it. You are an equal member of the team: you can "
        "join the meetings, be heard, and see the plan.\n\n"
        f"To set your password and see your family's page, open this link (it works once, for {days} days):\n\n"
        f"{link}\n\n"
        "If you were not expecting this, you can ignore this e-mail.\n\nRoundtable"
    )
    return Email([user.email], "You are invited to your family's Roundtable", text)
