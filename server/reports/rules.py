"""When reports are due and shared, and who sees which: pure functions of dates and facts.

``share_on`` is the day the family may read the reports: 3 working days before an initial
conference, 5 before a review conference, 2 before any other meeting, so that the family is
never ambushed in the room. ``due_on`` is 2 working days before ``share_on``, so that the chair
has time to read them first. The chase reminds an agency whose report is missing from
``chase_from`` (2 working days before ``due_on``) until the meeting starts. Dates are local
dates of ROUNDTABLE_TIMEZONE and working days are the chase's (:mod:`server.actions.chase`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.actions.chase import ChaseSettings, add_working_days

SHARE_WORKING_DAYS_BEFORE = {"initial_conference": 3, "review_conference": 5}
OTHER_SHARE_WORKING_DAYS_BEFORE = 2
DUE_WORKING_DAYS_BEFORE_SHARE = 2
CHASE_WORKING_DAYS_BEFORE_DUE = 2


@dataclass(frozen=True, slots=True)
class ReportDates:
    """One meeting's report dates (above), worked out in one place for the reports and the chase."""

    meeting_on: date
    share_on: date
    due_on: date
    chase_from: date


def meeting_day(scheduled_at: datetime, calendar: ChaseSettings) -> date:
    return scheduled_at.astimezone(ZoneInfo(calendar.timezone)).date()


def share_on(kind: str, meeting_on: date, calendar: ChaseSettings) -> date:
    before = SHARE_WORKING_DAYS_BEFORE.get(kind, OTHER_SHARE_WORKING_DAYS_BEFORE)
    return add_working_days(meeting_on, -before, calendar)


def due_on(kind: str, meeting_on: date, calendar: ChaseSettings) -> date:
    return add_working_days(share_on(kind, meeting_on, calendar), -DUE_WORKING_DAYS_BEFORE_SHARE, calendar)


def dates_for(kind: str, scheduled_at: datetime, calendar: ChaseSettings) -> ReportDates:
    meeting_on = meeting_day(scheduled_at, calendar)
    share = share_on(kind, meeting_on, calendar)
    due = add_working_days(share, -DUE_WORKING_DAYS_BEFORE_SHARE, calendar)
    return ReportDates(meeting_on, share, due, add_working_days(due, -CHASE_WORKING_DAYS_BEFORE_DUE, calendar))


def family_sees(*, share_with_family: bool, share_on: date, today: date) -> bool:
    """A family member sees a report only when its author shares it, and only from share_on."""
    return share_with_family and today >= share_on


def may_write(meeting_status: str) -> bool:
    """Reports are written and replaced until the meeting starts; after that they are the record."""
    return meeting_status == "scheduled"


def chase_due(*, status: str, missing: bool, today: date, dates: ReportDates) -> bool:
    """A missing report is chased from chase_from while the meeting has not started."""
    return status == "scheduled" and missing and dates.chase_from <= today <= dates.meeting_on


def chase_stage(today: date, dates: ReportDates) -> str:
    """The ledger stage of a report reminder: one before the due date, one once it has passed
    (each exactly once)."""
    return "report_overdue" if today > dates.due_on else "report_due"
