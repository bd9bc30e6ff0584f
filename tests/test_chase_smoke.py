"""A chase pass against the real database: the owner is reminded once, then escalations follow."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from server.actions.chasing import chase_pass
from server.actions.models import Action, ReminderLedger
from server.config import Settings
from server.live.events import NoPublisher
from server.notify.models import Notification, OutboxMessage
from server.platform.runtime import Runtime
from tests.support import ON_A_FIXED_CLOCK, Team

pytestmark = ON_A_FIXED_CLOCK


async def _action(runtime: Runtime, team: Team, due: date) -> Action:
    async with runtime.sessionmaker() as session, session.begin():
        action = Action(
            case_id=team.case.id,
            meeting_id=team.meeting.id,
            title="Book a hearing test",
            owner_id=team.member.id,
            agency_id=team.member.agency_id,
            due_date=due,
            outcome_area="being_healthy",
        )
        session.add(action)
    return action


async def _count(runtime: Runtime, model: type) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_due_action_is_reminded_once_then_escalated(runtime: Runtime, team: Team, settings: Settings) -> None:
    await _action(runtime, team, date(2026, 12, 1))  # a Tuesday
    tuesday_ten = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    first = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), tuesday_ten)
    assert (first.reminders, first.emails) == (1, 1)
    again = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), tuesday_ten)
    assert again.reminders == 0
    assert await _count(runtime, OutboxMessage) == 1
    # Three working days overdue: the owner's overdue reminder has gone, the lead is told now.
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    late = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), friday)
    assert late.reminders == 2  # the owner's first overdue reminder was never sent (no run); and the lead
    async with runtime.sessionmaker() as session:
        roles = set(await session.scalars(select(ReminderLedger.recipient_role)))
    assert roles == {"owner", "lead_professional"}
    assert await _count(runtime, Notification) == 3
