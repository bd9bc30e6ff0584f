"""Who may see and do what on a case: a pure function of the person's case role.

Need-to-know: only the case's team sees its meetings, decisions and actions. Administrators
manage the team and the schedule (they see the case's record: reference, name, team, meeting
times) but not what is discussed, unless they are on the team themselves. Anyone else learns
nothing, not even that the case exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.cases.models import CaseRole


@dataclass(frozen=True, slots=True)
class CaseAccess:
    role: CaseRole | None
    is_admin: bool

    @property
    def can_see_record(self) -> bool:
        return self.role is not None or self.is_admin

    @property
    def can_see_content(self) -> bool:
        """Meetings' content, decisions, actions, minutes: the team only."""
        return self.role is not None

    @property
    def can_manage(self) -> bool:
        """Change the team and schedule meetings."""
        return self.role is CaseRole.CHAIR or self.is_admin

    @property
    def is_family(self) -> bool:
        return self.role is CaseRole.FAMILY

    @property
    def sees_professionals_only(self) -> bool:
        return self.role in (CaseRole.PROFESSIONAL, CaseRole.CHAIR)


def access_for(role: str | None, *, is_admin: bool) -> CaseAccess:
    return CaseAccess(role=CaseRole(role) if role else None, is_admin=is_admin)


def may_create_case(*, is_admin: bool, sector: str) -> bool:
    """Administrators and professionals open cases; family members do not."""
    return is_admin or sector != "family"


def role_fits_sector(role: CaseRole, sector: str) -> bool:
    """A family role belongs to a family account and only to one, so the family is one voice."""
    return (role is CaseRole.FAMILY) == (sector == "family")
