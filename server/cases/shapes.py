"""How cases and teams look in the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.cases.access import CaseAccess
from server.cases.models import Case, CaseMember
from server.people.shapes import user_brief


def member_json(member: CaseMember) -> dict[str, Any]:
    return {"user": user_brief(member.user), "user_id": str(member.user_id), "role": member.role}


def case_json(case: Case, *, role: str | None, members: Sequence[CaseMember] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(case.id),
        "reference": case.reference,
        "display_name": case.display_name,
        "lead_professional_id": str(case.lead_professional_id),
        "lead_professional": user_brief(case.lead_professional),
        "my_role": role,
        "created_at": case.created_at.isoformat(),
    }
    if members is not None:
        body["members"] = [member_json(m) for m in members]
    return body


def access_json(access: CaseAccess) -> dict[str, bool]:
    return {"can_manage": access.can_manage, "can_see_content": access.can_see_content}
