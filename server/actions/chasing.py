"""One chase pass: find what is due, record it once in the ledger, and tell people.

The schedule itself is the pure function in chase.py. A pass reads its candidates with one
indexed query, asks the schedule what each is due for, and inserts ledger rows with
ON CONFLICT DO NOTHING ... RETURNING: only the reminders that this pass inserted are sent, so
two workers, a retry or a crash can never send one twice. The ledger rows, the in-app
notifications and the outbox e-mail commit in one transaction; a worker killed mid-pass leaves
nothing behind, and the next pass does the whole job.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.actions.chase import (
    ActionFacts,
    ChaseSettings,
    Recipient,
    Reminder,
    Stage,
    due_reminders,
    earliest_due_date_to_scan,
    in_working_hours,
)
from server.actions.models import Acceptance, Action, ReminderLedger
from server.cases.models import Case, CaseMember, CaseRole
from server.config import ChaseConfig, Settings
from server.db import transaction
from server.live.events import Publisher
from server.meetings.models import Meeting
from server.notify.models import Notification
from server.notify.outbox import Email, enqueue
from server.people.models import User

CLOSED = ("done", "cancelled", "not_achieved")

STAGE_WORDS = {
    Stage.BEFORE_DUE: "is due soon",
    Stage.DUE_TODAY: "is due today",
    Stage.OVERDUE: "is overdue",
    Stage.ESCALATE_LEAD: "is overdue: escalated to you as lead professional",
    Stage.ESCALATE_CHAIR: "is well overdue: escalated to you as chair",
    Stage.DECLINED: "was declined by its owner",
    Stage.BLOCKED: "is blocked",
}


def chase_settings(config: ChaseConfig) -> ChaseSettings:
    return ChaseSettings(
        lead_working_days=config.lead_working_days,
        overdue_repeat_days=config.overdue_repeat_days,
        escalate_lead_after=config.escalate_lead_after,
        escalate_chair_after=config.escalate_chair_after,
        work_start=config.work_start,
        work_end=config.work_end,
        timezone=config.timezone,
        bank_holidays=config.bank_holidays,
    )


@dataclass(frozen=True, slots=True)
class ChaseSummary:
    scanned: int
    reminders: int
    emails: int
    in_working_hours: bool

    def __str__(self) -> str:
        if not self.in_working_hours:
            return "Outside working hours: nothing sent (reminders wait for the next working-hours run)."
        return f"Scanned {self.scanned} actions; {self.reminders} reminders recorded; {self.emails} e-mails queued."


@dataclass(frozen=True, slots=True)
class _Candidate:
    action: Action
    case: Case
    meeting_chair_id: uuid.UUID | None


async def chase_pass(
    maker: async_sessionmaker[AsyncSession], settings: Settings, publisher: Publisher, now: datetime
) -> ChaseSummary:
    rules = chase_settings(settings.chase)
    if not in_working_hours(now, rules):
        return ChaseSummary(0, 0, 0, in_working_hours=False)
    async with maker() as session, transaction(session):
        candidates = await _candidates(session, earliest_due_date_to_scan(now, rules))
        sent = await _ledger_of(session, [c.action.id for c in candidates])
        due = [
            (candidate, reminder)
            for candidate in candidates
            for reminder in due_reminders(_facts(candidate.action), sent[candidate.action.id], now, rules)
        ]
        chairs = await _case_chairs(session, {c.case.id for c, _ in due})
        recorded = await _record(session, due, chairs)
        emails = await _tell(session, settings, recorded, now.date())
    await publisher.users_changed({recipient for recipient, _, _ in recorded}, "notification")
    return ChaseSummary(len(candidates), len(recorded), emails, in_working_hours=True)


def _facts(action: Action) -> ActionFacts:
    status = "declined" if action.acceptance == Acceptance.DECLINED and action.status == "open" else action.status
    return ActionFacts(
        id=action.id,
        status=status,
        due_date=action.due_date,
        snoozed_until=action.snoozed_until,
        declined_count=action.declined_count,
        blocked_count=action.blocked_count,
    )


async def _candidates(session: AsyncSession, latest_due: date) -> list[_Candidate]:
    """Open actions due by ``latest_due`` (the partial index on due_date), and actions with a
    decline or block that the chase may still owe to the lead and chair."""
    query = (
        select(Action, Case, Meeting.chair_id)
        .join(Case, Case.id == Action.case_id)
        .outerjoin(Meeting, Meeting.id == Action.meeting_id)
        .where(
            or_(
                and_(Action.status.in_(("open", "in_progress", "blocked")), Action.due_date <= latest_due),
                and_(
                    Action.status.not_in(CLOSED),
                    or_(Action.declined_count > 0, Action.blocked_count > 0),
                ),
            )
        )
        .execution_options(populate_existing=True)
    )
    rows = (await session.execute(query)).unique().all()
    return [_Candidate(action, case, chair_id) for action, case, chair_id in rows]


async def _ledger_of(session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, set[tuple[str, int]]]:
    sent: dict[uuid.UUID, set[tuple[str, int]]] = defaultdict(set)
    if not action_ids:
        return sent
    rows = await session.execute(
        select(ReminderLedger.action_id, ReminderLedger.stage, ReminderLedger.occurrence).where(
            ReminderLedger.action_id.in_(action_ids)
        )
    )
    for action_id, stage, occurrence in rows:
        sent[action_id].add((stage, occurrence))
    return sent


async def _case_chairs(session: AsyncSession, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CaseMember.case_id, CaseMember.user_id)
        .where(CaseMember.case_id.in_(case_ids), CaseMember.role == CaseRole.CHAIR)
        .order_by(CaseMember.added_at)
    )
    chairs: dict[uuid.UUID, uuid.UUID] = {}
    for case_id, user_id in rows:
        chairs.setdefault(case_id, user_id)
    return chairs


def _recipient(candidate: _Candidate, reminder: Reminder, chairs: dict[uuid.UUID, uuid.UUID]) -> uuid.UUID | None:
    if reminder.recipient is Recipient.OWNER:
        return candidate.action.owner_id
    if reminder.recipient is Recipient.LEAD:
        return candidate.case.lead_professional_id
    return candidate.meeting_chair_id or chairs.get(candidate.case.id)


Recorded = tuple[uuid.UUID, _Candidate, Reminder]


async def _record(
    session: AsyncSession, due: Iterable[tuple[_Candidate, Reminder]], chairs: dict[uuid.UUID, uuid.UUID]
) -> list[Recorded]:
    """Insert the ledger rows in key order (so concurrent passes cannot deadlock) and keep only
    the reminders whose row this pass inserted."""
    wanted: dict[tuple[uuid.UUID, str, int], tuple[uuid.UUID, _Candidate, Reminder]] = {}
    for candidate, reminder in due:
        recipient = _recipient(candidate, reminder, chairs)
        if recipient is not None:
            wanted[reminder.key] = (recipient, candidate, reminder)
    if not wanted:
        return []
    rows = [
        {
            "action_id": key[0],
            "stage": key[1],
            "occurrence": key[2],
            "recipient_id": recipient,
            "recipient_role": reminder.recipient.value,
        }
        for key, (recipient, _, reminder) in sorted(wanted.items(), key=lambda item: (str(item[0][0]), *item[0][1:]))
    ]
    inserted: set[tuple[uuid.UUID, str, int]] = set()
    for start in range(0, len(rows), 5000):
        statement = (
            insert(ReminderLedger)
            .values(rows[start : start + 5000])
            .on_conflict_do_nothing(constraint="uq_reminder_ledger_key")
            .returning(ReminderLedger.action_id, ReminderLedger.stage, ReminderLedger.occurrence)
        )
        inserted.update(tuple(row) for row in (await session.execute(statement)).all())  # type: ignore[misc]
    return [wanted[key] for key in wanted if key in inserted]


async def _tell(session: AsyncSession, settings: Settings, recorded: list[Recorded], today: date) -> int:
    """Every reminder is an in-app notification; e-mail is one message per recipient per pass."""
    if not recorded:
        return 0
    notifications: list[dict[str, Any]] = []
    by_person: dict[uuid.UUID, list[tuple[_Candidate, Reminder]]] = defaultdict(list)
    for recipient, candidate, reminder in recorded:
        action = candidate.action
        notifications.append(
            {
                "id": uuid.uuid4(),
                "user_id": recipient,
                "case_id": candidate.case.id,
                "kind": f"chase_{reminder.stage}",
                "title": f"{action.title} {STAGE_WORDS[reminder.stage]}"[:300],
                "body": f"Due {action.due_date:%-d %b %Y} · case {candidate.case.reference}",
                "link": f"/actions/{action.id}",
            }
        )
        by_person[recipient].append((candidate, reminder))
    for start in range(0, len(notifications), 5000):
        await session.execute(insert(Notification), notifications[start : start + 5000])
    people = {
        u.id: u
        for u in await session.scalars(select(User).where(User.id.in_(list(by_person)), User.is_active.is_(True)))
    }
    for person_id, items in by_person.items():
        person = people.get(person_id)
        if person is not None:
            await enqueue(session, settings, _digest(settings, person, items, today))
    return len([p for p in by_person if p in people])


def _digest(settings: Settings, person: User, items: list[tuple[_Candidate, Reminder]], today: date) -> Email:
    count = len(items)
    subject = (
        "Roundtable: an action needs your attention"
        if count == 1
        else f"Roundtable: {count} actions need your attention"
    )
    lines = [f"Dear {person.name},", "", "These actions from the plans you are part of need your attention:", ""]
    for candidate, reminder in sorted(items, key=lambda item: item[0].action.due_date):
        action = candidate.action
        lines.append(f"- {action.title}")
        lines.append(
            f"  {STAGE_WORDS[reminder.stage].capitalize()}; due {action.due_date:%A %-d %B %Y}; case {candidate.case.reference}"
        )
        lines.append(f"  {settings.base_url}/actions/{action.id}")
    lines += ["", "You can update progress, or explain a delay, from the link.", "", "Roundtable"]
    return Email([person.email], subject, "\n".join(lines))
