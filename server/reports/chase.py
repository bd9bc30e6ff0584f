"""The chase of missing reports, one call in each chase pass.

From ``chase_from`` (2 working days before ``due_on``) until the meeting starts, each expected
agency whose report is missing has its members on the team reminded: once before the due date
(``report_due``) and once after it has passed (``report_overdue``). The chase ledger's unique
``(subject, stage)`` makes each happen once with any number of workers or after a crash; the
ledger rows, notifications and outbox e-mail commit together. The e-mail names the meeting's
kind and date and links to its page; it carries no report and no child's name."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.actions.chase import in_working_hours
from server.cases.models import Case, CaseMember, CaseRole
from server.config import Settings
from server.meetings.models import Meeting, MeetingKind
from server.notify.ledger import Chased, Item, claim, tell
from server.people.models import User
from server.platform.db import transaction
from server.reports import rules
from server.reports.models import Report
from server.timeutil import today_local

# No meeting's chase starts earlier than this before it (5 working days to share_on, 2 more to
# due_on, 2 more to chase_from, with room for a run of bank holidays).
LOOK_AHEAD = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class _Due:
    subject: str
    stage: str
    case_id: uuid.UUID
    meeting_id: uuid.UUID
    kind: str
    reference: str
    agency_id: uuid.UUID
    dates: rules.ReportDates


def _item(due: _Due) -> Item:
    kind = MeetingKind(due.kind).label
    late = due.stage == "report_overdue"
    dates = due.dates
    title = f"Your agency's report for the {kind} on {dates.meeting_on:%a %-d %b} is {'overdue' if late else 'due'}"
    body = (
        f"Due {dates.due_on:%a %-d %b %Y}; shared with the family from {dates.share_on:%a %-d %b %Y}"
        f" · case {due.reference}"
    )
    return Item(due.case_id, title, body, f"/meetings/{due.meeting_id}#reports-heading", f"chase_{due.stage}")


def ledger_subject(meeting_id: uuid.UUID, agency_id: uuid.UUID) -> str:
    return f"report:{meeting_id}:{agency_id}"


async def chase_reports(maker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> Chased:
    if not in_working_hours(now, settings.chase):
        return Chased()
    today = today_local(now)
    async with maker() as session, transaction(session):
        query = (
            select(Meeting.id, Meeting.case_id, Meeting.kind, Meeting.scheduled_at, Case.reference)
            .join(Case, Case.id == Meeting.case_id)
            .where(
                Meeting.status == "scheduled",
                Meeting.scheduled_at >= now,
                Meeting.scheduled_at <= now + LOOK_AHEAD,
                Meeting.created_at <= now,  # `roundtable chase --at` a past time: as things were then
            )
        )
        meetings = (await session.execute(query)).all()
        if not meetings:
            return Chased()
        ids = [m.id for m in meetings]
        sent = {
            (m, a)
            for m, a in await session.execute(
                select(Report.meeting_id, Report.agency_id).where(Report.meeting_id.in_(ids))
            )
        }
        team_rows = await session.execute(
            select(CaseMember.case_id, User.id, User.agency_id)
            .join(User, User.id == CaseMember.user_id)
            .where(
                CaseMember.case_id.in_({m.case_id for m in meetings}),
                CaseMember.role == CaseRole.PROFESSIONAL,
                User.is_active.is_(True),
            )
        )
        members: dict[uuid.UUID, dict[uuid.UUID, set[uuid.UUID]]] = defaultdict(lambda: defaultdict(set))
        for case_id, user_id, agency_id in team_rows:
            members[case_id][agency_id].add(user_id)
        due: list[_Due] = []
        for meeting in meetings:
            dates = rules.dates_for(meeting.kind, meeting.scheduled_at, settings.chase)
            for agency_id in members[meeting.case_id]:
                missing = (meeting.id, agency_id) not in sent
                if rules.chase_due(status="scheduled", missing=missing, today=today, dates=dates):
                    stage = rules.chase_stage(today, dates)
                    due.append(
                        _Due(
                            ledger_subject(meeting.id, agency_id),
                            stage,
                            meeting.case_id,
                            meeting.id,
                            meeting.kind,
                            meeting.reference,
                            agency_id,
                            dates,
                        )
                    )
        claimed = await claim(session, [(d.subject, d.stage, d.case_id) for d in due])
        items: dict[uuid.UUID, list[Item]] = defaultdict(list)
        for d in due:
            if (d.subject, d.stage) in claimed:
                for person in members[d.case_id][d.agency_id]:
                    items[person].append(_item(d))
        return await tell(
            session,
            settings,
            items,
            subject="Roundtable: a report is needed before a meeting",
            lead="Your agency has not yet sent its report for these meetings:",
        )
