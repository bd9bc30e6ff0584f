"""Scheduling meetings and building their agenda. Live-room operations are in room.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import OPEN_STATUSES, Action
from server.audit.service import Actor, record_meeting
from server.cases.models import CaseMember, CaseRole
from server.cases.service import VisibleCase, managed_case, role_of, visible_row
from server.conference.rules import CHILD_VOICE_KINDS, CHILD_VOICE_TITLE
from server.config import Settings
from server.errors import Problem, Problems
from server.lookup import existing
from server.meetings.invitations import invite
from server.meetings.models import AgendaItem, Meeting, MeetingStatus
from server.meetings.schedule_rules import meeting_problems, turn_limit_problem
from server.people.models import User
from server.platform.db import transaction, utcnow

ACTION_REVIEW_TITLE = "Review of actions from the last meeting"


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    """A meeting to schedule, from the page's form or the API's body alike, so that both are held
    to the same rules (:func:`request_problems`)."""

    title: str
    kind: str
    scheduled_at: datetime
    chair_id: uuid.UUID
    turn_limit_seconds: int | None = None
    duration_minutes: int = 90
    location: str | None = None
    already_held: bool = False  # recording a meeting that took place: a past time, no invitations


def request_problems(req: MeetingRequest, now: datetime) -> dict[str, str]:
    problems = meeting_problems(
        title=req.title,
        kind=req.kind,
        scheduled_at=req.scheduled_at,
        duration_minutes=req.duration_minutes,
        location=req.location,
        already_held=req.already_held,
        now=now,
    )
    if message := turn_limit_problem(req.turn_limit_seconds):
        problems["turn_limit_seconds"] = message
    return problems


async def schedule_meeting(
    session: AsyncSession,
    actor: Actor,
    by: User,
    case_id: uuid.UUID,
    req: MeetingRequest,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Schedule a meeting; when the case has open actions, the agenda opens with their review.
    The whole team is invited, unless the meeting is being recorded after it was held."""
    problems = request_problems(req, now or utcnow())
    async with transaction(session):
        await managed_case(session, by, case_id)
        chair_role = await role_of(session, case_id, req.chair_id)
        if chair_role not in (CaseRole.CHAIR, CaseRole.PROFESSIONAL):
            problems["chair_id"] = Problem("The chair must be a professional on the case's team.", "chair_not_on_team")
        if problems:
            raise Problems(problems)
        meeting = Meeting(
            case_id=case_id,
            title=req.title.strip(),
            kind=req.kind,
            scheduled_at=req.scheduled_at,
            chair_id=req.chair_id,
            turn_limit_seconds=req.turn_limit_seconds,
            duration_minutes=req.duration_minutes,
            location=(req.location or "").strip() or None,
        )
        session.add(meeting)
        await session.flush()
        open_actions = await session.scalar(
            select(func.count()).select_from(Action).where(Action.case_id == case_id, Action.status.in_(OPEN_STATUSES))
        )
        if open_actions:
            session.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    position=0,
                    title=ACTION_REVIEW_TITLE,
                    is_action_review=True,
                )
            )
        if req.kind in CHILD_VOICE_KINDS:  # reviews of children who died keep finding it missing
            session.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    position=1 if open_actions else 0,
                    title=CHILD_VOICE_TITLE,
                    is_child_voice=True,
                )
            )
        record_meeting(
            session,
            actor,
            "meeting.schedule",
            meeting,
            title=meeting.title,
            scheduled_at=meeting.scheduled_at,
            already_held=req.already_held,
        )
        if settings is not None and not req.already_held:  # invitations with a calendar file
            await invite(session, settings, meeting)
    return meeting


async def meetings_of_case(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Meeting]:
    return (
        await session.scalars(select(Meeting).where(Meeting.case_id == case_id).order_by(Meeting.scheduled_at))
    ).all()


async def upcoming_meetings_for(session: AsyncSession, user: User, since: datetime) -> Sequence[Meeting]:
    query = (
        select(Meeting)
        .join(CaseMember, CaseMember.case_id == Meeting.case_id)
        .where(
            CaseMember.user_id == user.id,
            Meeting.status.in_([MeetingStatus.SCHEDULED, MeetingStatus.LIVE]),
        )
        .where(Meeting.scheduled_at >= since)
        .order_by(Meeting.scheduled_at)
        .limit(20)
    )
    return (await session.scalars(query)).all()


@dataclass(frozen=True, slots=True)
class VisibleMeeting:
    meeting: Meeting
    case: VisibleCase
    is_chair: bool


async def visible_meeting(session: AsyncSession, user: User, meeting_id: uuid.UUID) -> VisibleMeeting:
    """The meeting if this user is on its case's team, else NotFound."""
    meeting, case = await visible_row(session, user, Meeting, meeting_id, missing="No such meeting.")
    return VisibleMeeting(meeting, case, is_chair=meeting.chair_id == user.id)


async def agenda(
    session: AsyncSession, meeting_id: uuid.UUID, *, include_professionals_only: bool
) -> Sequence[AgendaItem]:
    query = (
        select(AgendaItem)
        .where(AgendaItem.meeting_id == meeting_id)
        .order_by(AgendaItem.position, AgendaItem.created_at)
    )
    if not include_professionals_only:
        query = query.where(AgendaItem.professionals_only.is_(False))
    return (await session.scalars(query)).all()


async def reload(session: AsyncSession, meeting_id: uuid.UUID) -> Meeting:
    """The meeting with its chair loaded, after a change committed."""
    return await existing(session, Meeting, meeting_id, missing="No such meeting.", populate_existing=True)
