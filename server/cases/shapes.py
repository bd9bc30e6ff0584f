"""How cases and teams look in the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import msgspec

from server.cases.models import Case, CaseMember
from server.cases.timescales import Milestone
from server.people.models import User
from server.people.shapes import UserBrief, user_brief
from server.shapes import Timestamp, from_attributes, iso


class MemberOut(msgspec.Struct):
    user: UserBrief
    user_id: UUID
    role: str


class CaseOut(msgspec.Struct):
    """A case as the list of cases shows it; ``my_role`` is the caller's role on its team."""

    id: UUID
    reference: str
    display_name: str
    lead_professional_id: UUID
    lead_professional: UserBrief
    my_role: str | None
    created_at: Timestamp


class CaseDetail(CaseOut):
    """One case with its team."""

    members: list[MemberOut]


class MemberRemoved(msgspec.Struct):
    removed: bool
    user_id: UUID


class InvitationOut(msgspec.Struct):
    """The invited family member; ``new_account`` is false when they already had one."""

    user: UserBrief
    new_account: bool


def member_json(member: CaseMember) -> MemberOut:
    return MemberOut(user=user_brief(member.user), user_id=member.user_id, role=member.role)


def case_json(case: Case, *, role: str | None) -> CaseOut:
    return from_attributes(
        CaseOut,
        case,
        lead_professional=user_brief(case.lead_professional),
        my_role=role,
        created_at=iso(case.created_at),
    )


def case_detail(case: Case, *, role: str | None, members: Sequence[CaseMember]) -> CaseDetail:
    return CaseDetail(**msgspec.structs.asdict(case_json(case, role=role)), members=[member_json(m) for m in members])


def invitation_json(user: User, *, new_account: bool) -> InvitationOut:
    return InvitationOut(user=user_brief(user), new_account=new_account)


class MilestoneOut(msgspec.Struct):
    """One statutory milestone: ``state`` is upcoming, due_soon, overdue, met or met_late."""

    kind: str
    due_on: date
    meeting_id: UUID | None
    held_on: date | None
    state: str


class TimescalesOut(msgspec.Struct):
    milestones: list[MilestoneOut]


def timescales_json(found: Sequence[Milestone]) -> TimescalesOut:
    return TimescalesOut(
        milestones=[MilestoneOut(m.kind.value, m.due_on, m.meeting_id, m.held_on, m.state.value) for m in found]
    )
