"""Administrators managing a person: correcting their details, deactivating (and reactivating)
them, and resetting their sign-in. Deactivating and resetting end every session of the person in
the same transaction; the caller then tells the live hub (``Publisher.access_changed``), so their
open sockets close at once on every web process. A deactivated person cannot sign in, and their
API tokens stop working, until an administrator reactivates them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.config import Settings
from server.errors import Conflict, Forbidden, NotFound, Problems
from server.live.events import MeetingChanged, Publisher
from server.meetings.versions import bump_rooms_of_person, publish
from server.notify.outbox import Email, enqueue
from server.people.models import Agency, Sector, User
from server.people.service import (
    INSIGHTS_FOR_FAMILY,
    email_problem,
    end_all_sessions,
    name_problem,
    new_invitation,
    normalise_email,
)
from server.platform.db import transaction


@dataclass(frozen=True, slots=True)
class PersonChange:
    """Only the fields given change."""

    name: str | None = None
    email: str | None = None
    agency_id: uuid.UUID | None = None
    is_admin: bool | None = None
    can_see_insights: bool | None = None


async def _locked_person(session: AsyncSession, user_id: uuid.UUID) -> User:
    person = await session.scalar(
        select(User).where(User.id == user_id).with_for_update(of=User).execution_options(populate_existing=True)
    )
    if person is None:
        raise NotFound("No such person.")
    return person


def _require_admin(by: User) -> None:
    if not by.is_admin:
        raise Forbidden("Only administrators can do that.")


async def change_person(
    session: AsyncSession, publisher: Publisher, actor: Actor, by: User, user_id: uuid.UUID, change: PersonChange
) -> User:
    """Correct a person's name, e-mail address, agency, administrator rights or whether they read
    the partnership insights; every problem at once. Open rooms that show them show the new name
    and agency at once."""
    _require_admin(by)
    rooms: list[MeetingChanged] = []
    async with transaction(session):
        person = await _locked_person(session, user_id)
        problems: dict[str, str] = {}
        changes: dict[str, object] = {}
        if change.name is not None and change.name.strip() != person.name:
            name = change.name.strip()
            if message := name_problem(name):
                problems["name"] = message
            changes["name"] = name
        if change.email is not None and normalise_email(change.email) != person.email:
            email = normalise_email(change.email)
            if message := email_problem(email):
                problems["email"] = message
            elif await session.scalar(select(User.id).where(User.email == email, User.id != person.id)):
                problems["email"] = "Someone else has an account with that e-mail address."
            changes["email"] = email
        agency: Agency | None = person.agency
        if change.agency_id is not None and change.agency_id != person.agency_id:
            agency = await session.get(Agency, change.agency_id)
            if agency is None:
                problems["agency_id"] = "Choose an agency from the list."
            changes["agency_id"] = change.agency_id
        insights = person.can_see_insights if change.can_see_insights is None else change.can_see_insights
        if insights and agency is not None and agency.sector == Sector.FAMILY:
            problems["can_see_insights"] = INSIGHTS_FOR_FAMILY
        if change.can_see_insights is not None and change.can_see_insights != person.can_see_insights:
            changes["can_see_insights"] = change.can_see_insights
        if change.is_admin is not None and change.is_admin != person.is_admin:
            if person.id == by.id:
                problems["is_admin"] = "You cannot take away your own administrator rights: ask another administrator."
            changes["is_admin"] = change.is_admin
        if problems:
            raise Problems(problems)
        if changes:
            if changes.keys() & {"name", "agency_id"}:
                rooms = await bump_rooms_of_person(session, person.id)
            for name, value in changes.items():
                setattr(person, name, value)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict("Someone else has an account with that e-mail address.", field="email") from None
            record(session, actor, "user.change", "user", person.id, changed=sorted(changes))
    await publish(publisher, rooms)
    await session.refresh(person, ["agency"])
    return person


async def set_active(session: AsyncSession, actor: Actor, by: User, user_id: uuid.UUID, *, active: bool) -> User:
    """Deactivate a person (every session ends; they cannot sign in) or let them back in."""
    _require_admin(by)
    async with transaction(session):
        person = await _locked_person(session, user_id)
        if person.id == by.id and not active:
            raise Conflict("You cannot deactivate yourself: ask another administrator.")
        if person.is_active != active:
            person.is_active = active
            if not active:
                await end_all_sessions(session, person.id)
            record(session, actor, "user.reactivate" if active else "user.deactivate", "user", person.id)
    return person


async def reset_sign_in(session: AsyncSession, settings: Settings, actor: Actor, by: User, user_id: uuid.UUID) -> User:
    """The person's password stops working and every session ends; they are e-mailed a single-use
    link to choose a new one (for a lost password, or an account that may be in other hands)."""
    _require_admin(by)
    async with transaction(session):
        person = await _locked_person(session, user_id)
        if not person.is_active:
            raise Conflict("Reactivate this person before resetting their sign-in.")
        person.password_hash = None
        await end_all_sessions(session, person.id)
        secret = new_invitation(session, settings, person.id, None, by.id)
        await enqueue(session, settings, _reset_email(settings, person, f"{settings.base_url}/invitations/{secret}"))
        record(session, actor, "user.reset", "user", person.id)
    return person


def _reset_email(settings: Settings, person: User, link: str) -> Email:
    text = (
        f"Dear {person.name},\n\n"
        "An administrator has reset your sign-in to Roundtable. Your old password no longer works, "
        "and you have been signed out everywhere.\n\n"
        f"Choose a new password with this link (it works once, for {settings.invitation_days} days):\n\n"
        f"{link}\n\n"
        "If you did not expect this, tell your administrator.\n\nRoundtable"
    )
    return Email([person.email], "Choose a new password for Roundtable", text)
