"""The chase of unapproved minutes: a reminder to the chair from ``draft_until``, an escalation
at ``minutes_escalate_working_days`` working days after the meeting, each exactly once.

One call from the chase pass (server/actions/chasing.py), inside its transaction and only in
its working hours. The schedule is the pure :func:`server.minutes.rules.due_stages`; each stage
that is due is claimed in the chase ledger (server/notify/ledger.py, subject
``minutes:<meeting>``), as milestones and reports are, and only the stages this pass claimed are
told (in-app notification and e-mail through the outbox, in the same transaction). Two workers,
a retry or a crash can never tell a stage twice: a concurrent pass waits on the unique key and
then inserts nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.cases.models import Case, CaseMember, CaseRole
from server.config import Settings
from server.meetings.models import Meeting
from server.minutes import rules
from server.minutes.models import MinutesReview, MinutesStatus
from server.minutes.rules import MinutesStage
from server.notify import notifications
from server.notify.ledger import ChaseLedger, claim
from server.notify.outbox import Email, enqueue_many
from server.people.models import User


@dataclass(frozen=True, slots=True)
class MinutesChase:
    reminders: int
    emails: int
    told: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class _Draft:
    meeting_id: uuid.UUID
    title: str
    case_id: uuid.UUID
    reference: str
    chair_id: uuid.UUID
    lead_id: uuid.UUID | None
    draft_until: date
    ended_on: date


def ledger_subject(meeting_id: uuid.UUID) -> str:
    """The minutes' key in the chase ledger (server/notify/ledger.py)."""
    return f"minutes:{meeting_id}"


async def chase_minutes(session: AsyncSession, settings: Settings, now: datetime) -> MinutesChase:
    """Inside the chase pass's transaction: record and tell what is due for unapproved minutes."""
    zone = ZoneInfo(settings.chase.timezone)
    today = now.astimezone(zone).date()
    drafts = await _drafts(session, zone, today)
    if not drafts:
        return MinutesChase(0, 0, frozenset())
    subjects = {ledger_subject(d.meeting_id): d.meeting_id for d in drafts}
    sent: dict[uuid.UUID, set[str]] = {}
    for subject, stage in await session.execute(
        select(ChaseLedger.subject, ChaseLedger.stage).where(ChaseLedger.subject.in_(list(subjects)))
    ):
        sent.setdefault(subjects[subject], set()).add(stage)
    chairs = await _case_chairs(session, {d.case_id for d in drafts})
    due = [
        (draft, stage)
        for draft in drafts
        for stage in rules.due_stages(
            status=MinutesStatus.DRAFT,
            until=draft.draft_until,
            ended_on=draft.ended_on,
            today=today,
            sent=sent.get(draft.meeting_id, set()),
            escalate_days=settings.minutes_escalate_working_days,
            calendar=settings.chase,
        )
    ]
    claimed = await claim(session, [(ledger_subject(d.meeting_id), stage.value, d.case_id) for d, stage in due])
    told = [
        (draft, stage, _recipients(draft, stage, chairs.get(draft.case_id, [])))
        for draft, stage in due
        if (ledger_subject(draft.meeting_id), stage.value) in claimed
    ]
    emails = await _tell(session, settings, told)
    return MinutesChase(len(told), emails, frozenset(p for _, _, people in told for p in people))


async def _drafts(session: AsyncSession, zone: ZoneInfo, today: date) -> list[_Draft]:
    """Minutes still in draft whose correction window has closed or is closing today (the
    partial index on draft_until); ended dates are read in the deployment's time zone."""
    rows = await session.execute(
        select(
            MinutesReview.meeting_id,
            Meeting.title,
            Meeting.case_id,
            Case.reference,
            Meeting.chair_id,
            Case.lead_professional_id,
            MinutesReview.draft_until,
            MinutesReview.drafted_at,
        )
        .join(Meeting, Meeting.id == MinutesReview.meeting_id)
        .join(Case, Case.id == Meeting.case_id)
        .where(MinutesReview.status == MinutesStatus.DRAFT, MinutesReview.draft_until <= today)
    )
    return [
        _Draft(mid, title, case_id, ref, chair, lead, until, drafted.astimezone(zone).date())
        for mid, title, case_id, ref, chair, lead, until, drafted in rows
    ]


async def _case_chairs(session: AsyncSession, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await session.execute(
        select(CaseMember.case_id, CaseMember.user_id)
        .where(CaseMember.case_id.in_(case_ids), CaseMember.role == CaseRole.CHAIR)
        .order_by(CaseMember.added_at)
    )
    for case_id, user_id in rows:
        found.setdefault(case_id, []).append(user_id)
    return found


def _recipients(draft: _Draft, stage: MinutesStage, case_chairs: list[uuid.UUID]) -> list[uuid.UUID]:
    """The reminder is the meeting chair's; the escalation goes to the chair again, the case's
    other chairs and the lead professional."""
    people = [draft.chair_id]
    if stage is MinutesStage.ESCALATE:
        people += case_chairs
        if draft.lead_id is not None:
            people.append(draft.lead_id)
    return list(dict.fromkeys(people))


WORDS = {
    MinutesStage.REMIND_CHAIR: "are waiting for your approval",
    MinutesStage.ESCALATE: "are still not approved: escalated",
}


async def _tell(
    session: AsyncSession, settings: Settings, told: list[tuple[_Draft, MinutesStage, list[uuid.UUID]]]
) -> int:
    if not told:
        return 0
    ids = {p for _, _, people in told for p in people}
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids), User.is_active.is_(True)))}
    emails = []
    for draft, stage, people in told:
        for person_id in people:
            notifications.add(
                session,
                notifications.Note(
                    user_id=person_id,
                    kind=f"minutes_{stage.value}",
                    title=f"The minutes of {draft.title} {WORDS[stage]}",
                    body=f"Case {draft.reference} · corrections closed {draft.draft_until:%-d %b %Y}",
                    link=f"/meetings/{draft.meeting_id}/minutes/review",
                    case_id=draft.case_id,
                ),
            )
            user = users.get(person_id)
            if user is not None:
                emails.append(_email(settings, user, draft, stage, is_chair=person_id == draft.chair_id))
    await enqueue_many(session, settings, emails)
    return len(emails)


def _email(settings: Settings, user: User, draft: _Draft, stage: MinutesStage, *, is_chair: bool) -> Email:
    link = f"{settings.base_url}/meetings/{draft.meeting_id}/minutes/review"
    if stage is MinutesStage.REMIND_CHAIR:
        subject = f"Roundtable: minutes to approve ({draft.reference})"
        lead = (
            f"The draft minutes of {draft.title} (case {draft.reference}) closed for corrections on "
            f"{draft.draft_until:%A %-d %B %Y} and are waiting for your approval."
        )
    else:
        subject = f"Roundtable: minutes still not approved ({draft.reference})"
        lead = (
            f"The minutes of {draft.title} (case {draft.reference}) are still a draft, "
            f"{settings.minutes_escalate_working_days} working days after the meeting."
        )
        if not is_chair:
            lead += " You are told as the case's chair or lead professional."
    ask = "Please read the corrections beside the draft and approve the minutes:" if is_chair else "The chair's page:"
    lines = [f"Dear {user.name},", "", lead, "", ask, link, "", "Roundtable"]
    return Email([user.email], subject, "\n".join(lines))
