"""The minutes' calendar: until when attendees may correct the draft, and when the chase reminds
the chair of minutes still unapproved and escalates them.

Pure (dates in, dates and stages out), on the chase's own working days and bank holidays, so
that a correction window and a reminder never land on a day the chase would not work.

* ``draft_until`` is the ``correction_days``-th working day after the day the meeting ended
  (local date). Attendees may correct the draft while it is a draft, up to and including that
  day.
* From ``draft_until`` the chair is reminded once (stage ``remind_chair``); at
  ``escalate_days`` working days after the meeting the minutes are escalated once (stage
  ``escalate``) to the chair, the case's other chairs and the lead professional. A late chase
  (after an outage) sends what is due now: both stages if both are due, each once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import StrEnum

from server.actions.chase import ChaseSettings, add_working_days


class MinutesStage(StrEnum):
    REMIND_CHAIR = "remind_chair"
    ESCALATE = "escalate"


def draft_until(ended_on: date, correction_days: int, calendar: ChaseSettings) -> date:
    """The last day attendees may correct the draft."""
    return add_working_days(ended_on, correction_days, calendar)


def escalate_on(ended_on: date, escalate_days: int, calendar: ChaseSettings) -> date:
    return add_working_days(ended_on, escalate_days, calendar)


def may_correct(status: str, until: date, today: date) -> bool:
    return status == "draft" and today <= until


def due_stages(
    *,
    status: str,
    until: date,
    ended_on: date,
    today: date,
    sent: Collection[str],
    escalate_days: int,
    calendar: ChaseSettings,
) -> list[MinutesStage]:
    """The stages due today for minutes in ``status`` and not yet in ``sent`` (the ledger)."""
    if status != "draft":
        return []
    due = []
    if today >= until:
        due.append(MinutesStage.REMIND_CHAIR)
    if today >= escalate_on(ended_on, escalate_days, calendar):
        due.append(MinutesStage.ESCALATE)
    return [stage for stage in due if stage.value not in sent]
