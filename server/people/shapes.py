"""How people and agencies look in the JSON API (a contract: add fields, never rename)."""

from __future__ import annotations

from typing import Any

from server.people.models import Agency, User


def agency_json(agency: Agency) -> dict[str, Any]:
    return {"id": str(agency.id), "name": agency.name, "sector": agency.sector}


def user_brief(user: User) -> dict[str, Any]:
    """Enough to show who someone is, for any team mate."""
    return {
        "id": str(user.id),
        "name": user.name,
        "agency_id": str(user.agency_id),
        "agency": agency_json(user.agency),
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        **user_brief(user),
        "email": user.email,
        "is_admin": user.is_admin,
        "is_active": user.is_active,
    }
