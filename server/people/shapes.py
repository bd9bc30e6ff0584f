"""How people and agencies look in the JSON API (a contract: add fields, never rename)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.people.models import Agency, ApiToken, User
from server.shapes import Timestamp, from_attributes, iso


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
    can_see_insights: bool = False


class SignedIn(msgspec.Struct):
    user: UserOut


class SignedOut(msgspec.Struct):
    signed_out: bool


class PasswordChanged(msgspec.Struct):
    changed: bool


class TokenOut(msgspec.Struct):
    """A new API token: ``token`` is shown this once and never again."""

    id: UUID
    name: str
    token: str
    created_at: Timestamp


def agency_json(agency: Agency) -> AgencyOut:
    return AgencyOut(id=agency.id, name=agency.name, sector=agency.sector)


def user_brief(user: User) -> UserBrief:
    return UserBrief(id=user.id, name=user.name, agency_id=user.agency_id, agency=agency_json(user.agency))


def user_json(user: User) -> UserOut:
    return from_attributes(UserOut, user, agency=agency_json(user.agency))


def token_json(token: ApiToken, secret: str) -> TokenOut:
    return TokenOut(id=token.id, name=token.name, token=secret, created_at=iso(token.created_at))
