"""How people and agencies look in the JSON API (a contract: add fields, never rename)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.people.models import Agency, User


class AgencyOut(msgspec.Struct):
    id: UUID
    name: str
    sector: str


class UserBrief(msgspec.Struct):
    """Enough to show who someone is, for any team mate."""

    id: UUID
    name: str
    agency_id: UUID
    agency: AgencyOut


class UserOut(UserBrief):
    """A person as they see themselves, and as administrators see them."""

    email: str
    is_admin: bool
    is_active: bool


def agency_json(agency: Agency) -> AgencyOut:
    return AgencyOut(id=agency.id, name=agency.name, sector=agency.sector)


def user_brief(user: User) -> UserBrief:
    return UserBrief(id=user.id, name=user.name, agency_id=user.agency_id, agency=agency_json(user.agency))


def user_json(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        agency_id=user.agency_id,
        agency=agency_json(user.agency),
        email=user.email,
        is_admin=user.is_admin,
        is_active=user.is_active,
    )
