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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, Uuid, and_, any_, cast, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.actions.chase import (
    ActionFacts,
    Recipient,
    Reminder,
    Stage,
    due_reminders,
    earliest_due_date_to_scan,
    in_working_hours,
)
from server.actions.models import Acceptance, Action, ReminderLedger
from server.cases.models import Case, CaseMember, CaseRole
from server.cases.timescale_chase import chase_milestones
from server.config import Settings
from server.live.events import Publisher
from server.meetings.models import Meeting
from server.notify.outbox import Email, enqueue_many
from server.people.models import User
from server.platform.db import transaction
from server.reports.chase import chase_reports
from server.webhooks import service as webhooks

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


@dataclass(frozen=True, slots=True)
class ChaseSummary:
    scanned: int
    reminders: int
    emails: int
    in_working_hours: bool
    other_reminders: int = 0  # milestones and reports (server/cases/timescale_chase.py, server/reports/chase.py)

    def __str__(self) -> str:
        if not self.in_working_hours:
            return "Outside working hours: nothing sent (reminders wait for the next working-hours run)."
        others = f" Timescales and reports: {self.other_reminders} reminders." if self.other_reminders else ""
        actions = f"Scanned {self.scanned} actions; {self.reminders} reminders recorded"
        return f"{actions}; {self.emails} e-mails queued.{others}"


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One action a pass looks at, as plain values rather than ORM objects: loading 10,000
    actions with their joined owner, agency, case and lead took a second on its own."""

    id: uuid.UUID
    title: str
    status: str
    acceptance: str
    due_date: date
    snoozed_until: date | None
    declined_count: int
    blocked_count: int
    owner_id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    lead_id: uuid.UUID
    chair_id: uuid.UUID | None  # the meeting's chair, else the case's first chair
    sent: frozenset[tuple[str, int]]  # the action's ledger: (stage, occurrence) already recorded


async def chase_pass(
    maker: async_sessionmaker[AsyncSession], settings: Settings, publisher: Publisher, now: datetime
) -> ChaseSummary:
    rules = settings.chase
    if not in_working_hours(now, rules):
        return ChaseSummary(0, 0, 0, in_working_hours=False)
    async with maker() as session, transaction(session):
        candidates = await _candidates(session, earliest_due_date_to_scan(now, rules))
        due = [
            (candidate, reminder)
            for candidate in candidates
            for reminder in due_reminders(_facts(candidate), candidate.sent, now, rules)
        ]
        recorded = await _record(session, due)
        emails = await _tell(session, settings, recorded)
        await webhooks.actions_overdue(session, turned_overdue(recorded))
    others = [
        await chase_milestones(maker, settings, now),
        await chase_reports(maker, settings, now),
    ]
    told = {recipient for recipient, _, _ in recorded}.union(*(other.recipients for other in others))
    await publisher.users_changed(told, "notification")
    return ChaseSummary(
        len(candidates),
        len(recorded),
        emails + sum(other.emails for other in others),
        in_working_hours=True,
        other_reminders=sum(other.reminders for other in others),
    )


OVERDUE_STAGES = frozenset(stage.value for stage in (Stage.OVERDUE, Stage.ESCALATE_LEAD, Stage.ESCALATE_CHAIR))


def turned_overdue(recorded: list[Recorded]) -> list[uuid.UUID]:
    """The actions whose first overdue reminder or escalation this pass recorded: the ledger
    makes that happen once per due date, so action.overdue is sent once per due date too."""
    first = (
        candidate.id
        for _, candidate, reminder in recorded
        if reminder.stage in OVERDUE_STAGES and not any(stage in OVERDUE_STAGES for stage, _ in candidate.sent)
    )
    return list(dict.fromkeys(first))


def _facts(candidate: _Candidate) -> ActionFacts:
    declined = candidate.acceptance == Acceptance.DECLINED and candidate.status == "open"
    return ActionFacts(
        id=candidate.id,
        status="declined" if declined else candidate.status,
        due_date=candidate.due_date,
        snoozed_until=candidate.snoozed_until,
        declined_count=candidate.declined_count,
        blocked_count=candidate.blocked_count,
    )


_SENT = "#"  # joins a ledger row's stage and occurrence in the candidate query


async def _candidates(session: AsyncSession, latest_due: date) -> list[_Candidate]:
    """Open actions due by ``latest_due`` (the partial index on due_date), and actions with a
    decline or block that the chase may still owe to the lead and chair: one query, which also
    brings each action's ledger and the case's chair (correlated, each by its own index)."""
    first_chair = (
        select(CaseMember.user_id)
        .where(CaseMember.case_id == Action.case_id, CaseMember.role == CaseRole.CHAIR)
        .order_by(CaseMember.added_at)
        .limit(1)
        .scalar_subquery()
    )
    sent = (
        select(func.array_agg(ReminderLedger.stage + _SENT + cast(ReminderLedger.occurrence, Text)))
        .where(ReminderLedger.action_id == Action.id)
        .scalar_subquery()
    )
    query = (
        select(
            Action.id,
            Action.title,
            Action.status,
            Action.acceptance,
            Action.due_date,
            Action.snoozed_until,
            Action.declined_count,
            Action.blocked_count,
            Action.owner_id,
            Action.case_id,
            Case.reference.label("case_reference"),
            Case.lead_professional_id.label("lead_id"),
            func.coalesce(Meeting.chair_id, first_chair).label("chair_id"),
            sent.label("sent"),
        )
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
    )
    candidates = []
    for row in await session.execute(query):
        values = dict(row._mapping)
        ledger = (item.rpartition(_SENT) for item in values.pop("sent") or ())
        candidates.append(_Candidate(**values, sent=frozenset((stage, int(n)) for stage, _, n in ledger)))
    return candidates


def _recipient(candidate: _Candidate, reminder: Reminder) -> uuid.UUID | None:
    if reminder.recipient is Recipient.OWNER:
        return candidate.owner_id
    if reminder.recipient is Recipient.LEAD:
        return candidate.lead_id
    return candidate.chair_id


Recorded = tuple[uuid.UUID, _Candidate, Reminder]

# Rows go in as one array per column: a single statement, prepared once, however many rows
# (a multi-row VALUES of 20,000 rows took SQLAlchemy seconds to compile, every pass).
_INSERT_LEDGER = text(
    "INSERT INTO reminder_ledger (action_id, stage, occurrence, recipient_id, recipient_role)"
    " SELECT a, s, o, r, rr FROM unnest(CAST(:action_id AS uuid[]), CAST(:stage AS text[]),"
    " CAST(:occurrence AS integer[]), CAST(:recipient_id AS uuid[]), CAST(:recipient_role AS text[]))"
    " WITH ORDINALITY AS row_(a, s, o, r, rr, n) ORDER BY n"
    " ON CONFLICT ON CONSTRAINT uq_reminder_ledger_key DO NOTHING"
    " RETURNING action_id, stage, occurrence"
)
_INSERT_NOTIFICATIONS = text(
    "INSERT INTO notifications (id, user_id, case_id, kind, title, body, link)"
    " SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:user_id AS uuid[]), CAST(:case_id AS uuid[]),"
    " CAST(:kind AS text[]), CAST(:title AS text[]), CAST(:body AS text[]), CAST(:link AS text[]))"
)


async def _record(session: AsyncSession, due: Iterable[tuple[_Candidate, Reminder]]) -> list[Recorded]:
    """Insert the ledger rows in key order (so concurrent passes cannot deadlock) and keep only
    the reminders whose row this pass inserted."""
    wanted: dict[tuple[uuid.UUID, str, int], Recorded] = {}
    for candidate, reminder in due:
        recipient = _recipient(candidate, reminder)
        if recipient is not None:
            wanted[reminder.key] = (recipient, candidate, reminder)
    if not wanted:
        return []
    keys = sorted(wanted, key=lambda key: (str(key[0]), key[1], key[2]))
    result = await session.execute(
        _INSERT_LEDGER,
        {
            "action_id": [key[0] for key in keys],
            "stage": [key[1] for key in keys],
            "occurrence": [key[2] for key in keys],
            "recipient_id": [wanted[key][0] for key in keys],
            "recipient_role": [wanted[key][2].recipient.value for key in keys],
        },
    )
    inserted = {(action_id, stage, occurrence) for action_id, stage, occurrence in result}
    return [wanted[key] for key in keys if key in inserted]


async def _tell(session: AsyncSession, settings: Settings, recorded: list[Recorded]) -> int:
    """Every reminder is an in-app notification; e-mail is one message per recipient per pass."""
    if not recorded:
        return 0
    columns: dict[str, list[Any]] = {name: [] for name in ("id", "user_id", "case_id", "kind", "title", "body", "link")}
    by_person: dict[uuid.UUID, list[tuple[_Candidate, Reminder]]] = defaultdict(list)
    for recipient, candidate, reminder in recorded:
        columns["id"].append(uuid.uuid4())
        columns["user_id"].append(recipient)
        columns["case_id"].append(candidate.case_id)
        columns["kind"].append(f"chase_{reminder.stage}")
        columns["title"].append(f"{candidate.title} {STAGE_WORDS[reminder.stage]}"[:300])
        columns["body"].append(f"Due {candidate.due_date:%-d %b %Y} · case {candidate.case_reference}")
        columns["link"].append(f"/actions/{candidate.id}")
        by_person[recipient].append((candidate, reminder))
    await session.execute(_INSERT_NOTIFICATIONS, columns)
    people = (
        await session.execute(
            select(User.id, User.name, User.email).where(
                User.id == any_(cast(list(by_person), ARRAY(Uuid))), User.is_active.is_(True)
            )
        )
    ).all()
    await enqueue_many(
        session, settings, [_digest(settings, name, address, by_person[pid]) for pid, name, address in people]
    )
    return len(people)


def _digest(settings: Settings, name: str, address: str, items: list[tuple[_Candidate, Reminder]]) -> Email:
    count = len(items)
    subject = (
        "Roundtable: an action needs your attention"
        if count == 1
        else f"Roundtable: {count} actions need your attention"
    )
    lines = [f"Dear {name},", "", "These actions from the plans you are part of need your attention:", ""]
    for candidate, reminder in sorted(items, key=lambda item: item[0].due_date):
        lines.append(f"- {candidate.title}")
        lines.append(
            f"  {STAGE_WORDS[reminder.stage].capitalize()}; due {candidate.due_date:%A %-d %B %Y};"
            f" case {candidate.case_reference}"
        )
        lines.append(f"  {settings.base_url}/actions/{candidate.id}")
    lines += ["", "You can update progress, or explain a delay, from the link.", "", "Roundtable"]
    return Email([address], subject, "\n".join(lines))
