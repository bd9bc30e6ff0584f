"""The chase schedule: which reminders and escalations an action is due for right now.

An agreed action only helps the child if someone does it, so the worker chases every open
action: the owner before, on and after the due date, then the lead professional and the chair
when it slips. This module decides *what* is due; it is pure (no I/O, no imports from the rest
of the app) so that the schedule can be tested exhaustively and every worker computes the same
answer from the same facts. The actions service loads the facts and the ledger, calls
:func:`due_reminders`, and records each returned reminder under its :attr:`Reminder.key` in a
ledger with a unique key, in the same transaction as the outbox message. A second worker, a
retry or a crash between the two then cannot send one reminder twice.

Decisions, so that the rest of the app can rely on them:

* **Runs are idempotent and catch up with the present, not the past.** Each call returns only
  what is due *now* and not yet in ``sent``. The owner gets one stream of reminders of which
  only the latest due one counts: once "due today" is due, a missed "before due" is never
  sent; after an outage only the current weekly overdue occurrence is sent, not a backlog.
  Escalations go to other people, so each is sent once even if it is late.
* **Only working hours of working days** (weekends and ``bank_holidays`` excluded, hours as
  ``[work_start, work_end)`` in ``timezone``) send anything; outside them the answer is empty
  and whatever is due goes out at the first run in working hours.
* **"Due today" on a non-working due date** goes out on the last working day before it, so a
  Saturday due date is still flagged on the Friday; "overdue" starts on the first working day
  after the due date.
* **Overdue repeats count calendar days** (``overdue_repeat_days``) from the first overdue
  working day, so they fall on the same weekday; a repeat that lands on a bank holiday goes out
  the next working day, and the later ones keep their own dates. Escalation thresholds count
  *working* days overdue (the first working day after the due date is 1).
* **Snooze holds the owner's reminders until** ``snoozed_until`` (reminders resume on that
  day, with the one then due); escalations are never snoozed. That a snooze happens once and
  has a reason is for the service to enforce.
* **Declined and blocked** are events, not dates: each time an action is declined (or
  blocked) the service increments ``declined_count`` (``blocked_count``), and the latest event
  is escalated once to the lead professional and once to the chair, whatever the due date and
  whatever the status now (a block lifted before the next working-hours run is still reported,
  late), as long as the action is not closed. Declined and blocked actions (by status) get no
  owner reminders and no time escalations; a service that records a decline as an acceptance
  rather than a status should pass ``status="declined"`` while the decline stands.
* **Ledger keys.** A reminder is named by ``(stage, occurrence)``; the two recipients of a
  declined/blocked event need two ledger rows, so for those stages the ledger stage carries
  the recipient (``"blocked:chair"``). Store :attr:`Reminder.key` (not ``Reminder.stage``) and
  build ``sent`` from the stored ``(stage, occurrence)`` columns.
* **A changed due date starts a new schedule**: the key does not contain the due date, so when
  the due date changes the service must delete the action's ledger rows whose stage is in
  :data:`DUE_DATE_LEDGER_STAGES` (in the same transaction); event rows are kept.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CHASED_STATUSES",
    "DUE_DATE_LEDGER_STAGES",
    "EVENT_STATUSES",
    "ActionFacts",
    "ChaseSettings",
    "Recipient",
    "Reminder",
    "Stage",
    "add_working_days",
    "due_reminders",
    "earliest_due_date_to_scan",
    "in_working_hours",
    "is_working_day",
    "parse_bank_holidays",
    "working_days_between",
]


class Stage(StrEnum):
    """Where an action is in its chase; with the occurrence it names one ledger row."""

    BEFORE_DUE = "before_due"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"  # occurrence 0 on the first overdue working day, then 1, 2, ...
    ESCALATE_LEAD = "escalate_lead"
    ESCALATE_CHAIR = "escalate_chair"
    DECLINED = "declined"  # occurrence = the decline event number (1, 2, ...)
    BLOCKED = "blocked"  # occurrence = the block event number (1, 2, ...)


class Recipient(StrEnum):
    """Whom a reminder is for; the service resolves the person from the action and its case."""

    OWNER = "owner"
    LEAD = "lead_professional"
    CHAIR = "chair"


CHASED_STATUSES: frozenset[str] = frozenset({"open", "in_progress"})
"""Statuses whose owner is reminded and which escalate by date."""

EVENT_STATUSES: frozenset[str] = frozenset({"declined", "blocked"})
"""Statuses that are still open but only chased by their decline/block escalations."""

DUE_DATE_LEDGER_STAGES: frozenset[str] = frozenset(
    stage.value
    for stage in (
        Stage.BEFORE_DUE,
        Stage.DUE_TODAY,
        Stage.OVERDUE,
        Stage.ESCALATE_LEAD,
        Stage.ESCALATE_CHAIR,
    )
)
"""Ledger stages tied to the due date: delete an action's rows for these when it changes."""

_FAN_OUT: dict[Stage, tuple[Recipient, ...]] = {
    Stage.DECLINED: (Recipient.LEAD, Recipient.CHAIR),
    Stage.BLOCKED: (Recipient.LEAD, Recipient.CHAIR),
}


@dataclass(frozen=True, slots=True)
class ChaseSettings:
    """The deployment's chase policy; validated here so a bad policy fails at start-up."""

    lead_working_days: int = 2
    overdue_repeat_days: int = 7
    escalate_lead_after: int = 3
    escalate_chair_after: int = 10
    work_start: time = time(9)
    work_end: time = time(17)
    timezone: str = "Europe/London"
    bank_holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.lead_working_days < 0:
            raise ValueError("lead_working_days must be 0 (no early reminder) or more")
        for name in ("overdue_repeat_days", "escalate_lead_after", "escalate_chair_after"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be later than work_start")
        try:
            _zone(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None


@dataclass(frozen=True, slots=True)
class ActionFacts:
    """What the schedule needs to know about one action, loaded by the service.

    The counters grow by one each time the action enters the declined or blocked status, so a
    second block is a new event with its own ledger row and is escalated again.
    """

    id: UUID
    status: str
    due_date: date
    snoozed_until: date | None = None
    declined_count: int = 0
    blocked_count: int = 0


@dataclass(frozen=True, slots=True)
class Reminder:
    """One message that is due: record :attr:`key` in the ledger, then send it."""

    action_id: UUID
    stage: Stage
    occurrence: int
    recipient: Recipient

    @property
    def ledger_stage(self) -> str:
        """The stage as stored; fan-out stages add the recipient so each gets its own row."""
        if self.stage in _FAN_OUT:
            return f"{self.stage.value}:{self.recipient.value}"
        return self.stage.value

    @property
    def key(self) -> tuple[UUID, str, int]:
        """The ledger's unique key; ``key[1:]`` is what ``sent`` holds for this reminder."""
        return (self.action_id, self.ledger_stage, self.occurrence)


# --- calendar ---------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_working_day(day: date, settings: ChaseSettings) -> bool:
    """Monday to Friday and not a bank holiday: nobody should be chased on a day off."""
    return day.weekday() < 5 and day not in settings.bank_holidays


def add_working_days(day: date, n: int, settings: ChaseSettings) -> date:
    """The n-th working day after ``day`` (before it when n < 0); ``day`` itself when n == 0.

    ``day`` need not be a working day: one working day before a Saturday is the Friday.
    """
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day, settings):
            remaining -= 1
    return day


def working_days_between(start: date, end: date, settings: ChaseSettings) -> int:
    """Working days in ``(start, end]``, negated when end is before start.

    This is "working days overdue" when start is the due date: the first working day after it
    counts 1. Computed arithmetically so that long-overdue actions cost nothing extra.
    """
    if end < start:
        return -working_days_between(end, start, settings)
    weeks, extra = divmod((end - start).days, 7)
    weekdays = weeks * 5 + sum(1 for i in range(1, extra + 1) if (start + timedelta(days=i)).weekday() < 5)
    holidays = sum(1 for h in settings.bank_holidays if start < h <= end and h.weekday() < 5)
    return weekdays - holidays


def _local(now: datetime, settings: ChaseSettings) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(_zone(settings.timezone))


def in_working_hours(now: datetime, settings: ChaseSettings) -> bool:
    """True on a working day between work_start (inclusive) and work_end (exclusive).

    ``now`` must be timezone-aware; it is read in the deployment's time zone, so the clock
    change is followed (09:00 is 08:00 UTC in British Summer Time).
    """
    local = _local(now, settings)
    return is_working_day(local.date(), settings) and (settings.work_start <= local.time() < settings.work_end)


def earliest_due_date_to_scan(now: datetime, settings: ChaseSettings) -> date:
    """The latest due date an open action can have and still be due for a reminder now.

    The service selects candidates for the dated reminders with one indexed query::

        WHERE status IN ('open', 'in_progress') AND due_date <= :this

    and adds the decline/block events, which do not depend on the due date, with a second
    one: ``status NOT IN (closed) AND (declined_count > 0 OR blocked_count > 0)``, narrowed if
    need be by ``NOT EXISTS`` the ledger row of the latest event.

    It is today plus ``lead_working_days`` working days, stretched over the non-working days
    that follow (a Saturday due date is reminded on the working days before it). Nothing due
    later than this can be due for any reminder now; everything at or before it may be.
    """
    today = _local(now, settings).date()
    return add_working_days(today, settings.lead_working_days + 1, settings) - timedelta(days=1)


def parse_bank_holidays(text: str) -> frozenset[date]:
    """Read the comma-separated ISO dates of the bank-holiday setting; blanks are ignored.

    Raises ValueError naming the bad item so a typo is found at start-up, not on a holiday.
    """
    days: set[date] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            days.add(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"bank holiday {item!r} is not an ISO date (YYYY-MM-DD)") from None
    return frozenset(days)


# --- the schedule -----------------------------------------------------------------------


def due_reminders(
    action: ActionFacts,
    sent: Collection[tuple[str, int]],
    now: datetime,
    settings: ChaseSettings,
) -> list[Reminder]:
    """Reminders due for ``action`` at ``now`` that are not in ``sent``, owner's first.

    ``sent`` holds the ``(stage, occurrence)`` pairs already in the ledger for this action
    (``Reminder.key[1:]``). Empty outside working hours. See the module docstring for the
    rules and the choices made about late runs.
    """
    if not in_working_hours(now, settings):
        return []
    today = _local(now, settings).date()
    done = {(str(stage), int(occurrence)) for stage, occurrence in sent}
    candidates = (
        *_owner(action, today, settings),
        *_escalations(action, today, settings),
        *_events(action),
    )
    return [r for r in candidates if (r.ledger_stage, r.occurrence) not in done]


def _owner(action: ActionFacts, today: date, settings: ChaseSettings) -> Iterator[Reminder]:
    """The owner's one current reminder: the latest stage whose day has come."""
    if action.status not in CHASED_STATUSES:
        return
    if action.snoozed_until is not None and today < action.snoozed_until:
        return
    current = _owner_stage(action.due_date, today, settings)
    if current is not None:
        yield Reminder(action.id, current[0], current[1], Recipient.OWNER)


def _owner_stage(due: date, today: date, settings: ChaseSettings) -> tuple[Stage, int] | None:
    """Which owner reminder (stage, occurrence) is current on ``today``, if any."""
    first_overdue = add_working_days(due, 1, settings)
    if today >= first_overdue:
        return Stage.OVERDUE, (today - first_overdue).days // settings.overdue_repeat_days
    if today >= add_working_days(due + timedelta(days=1), -1, settings):
        return Stage.DUE_TODAY, 0  # the due date, or the last working day before it
    lead = settings.lead_working_days
    if lead and today >= add_working_days(due, -lead, settings):
        return Stage.BEFORE_DUE, 0
    return None


def _escalations(action: ActionFacts, today: date, settings: ChaseSettings) -> Iterator[Reminder]:
    """Each escalation once, from the day the action is that many working days overdue."""
    if action.status not in CHASED_STATUSES or today <= action.due_date:
        return
    overdue = working_days_between(action.due_date, today, settings)
    if overdue >= settings.escalate_lead_after:
        yield Reminder(action.id, Stage.ESCALATE_LEAD, 0, Recipient.LEAD)
    if overdue >= settings.escalate_chair_after:
        yield Reminder(action.id, Stage.ESCALATE_CHAIR, 0, Recipient.CHAIR)


def _events(action: ActionFacts) -> Iterator[Reminder]:
    """The latest decline and the latest block, each to the lead professional and the chair."""
    if action.status not in CHASED_STATUSES | EVENT_STATUSES:
        return
    for stage, count in (
        (Stage.DECLINED, action.declined_count),
        (Stage.BLOCKED, action.blocked_count),
    ):
        if action.status == stage.value:
            count = max(count, 1)  # the status without its counter bumped is still event 1
        for who in _FAN_OUT[stage] if count > 0 else ():
            yield Reminder(action.id, stage, count, who)
