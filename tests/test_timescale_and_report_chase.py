"""The chase of statutory milestones and missing reports against real PostgreSQL and a real SMTP
server: a milestone due soon with no meeting reminds the chair and the lead, an overdue one
escalates and sends timescale.overdue, a missing report reminds its agency's members; each
once: nothing again on a second pass, nothing twice with two passes at once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from server.actions.chase import add_working_days, is_working_day
from server.actions.chasing import chase_pass
from server.audit.service import Actor
from server.config import Settings
from server.live.events import NoPublisher
from server.meetings import service as meetings
from server.meetings.models import Meeting
from server.notify.ledger import ChaseLedger
from server.notify.models import Notification
from server.notify.outbox import send_pending
from server.platform.runtime import Runtime
from server.reports import service as reports
from server.webhooks import service as webhooks
from server.webhooks.models import WebhookDelivery
from tests.smtp import SmtpSink, running_sink
from tests.support import Team

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with running_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpSink) -> Settings:
    return dataclasses.replace(settings, smtp_url=smtp.url)


def a_tuesday_ahead(settings: Settings) -> datetime:
    """10:00 in London on a Tuesday at least a week ahead (everything the test makes exists by then)."""
    day = date.today() + timedelta(days=7)
    while day.weekday() != 1 or not is_working_day(day, settings.chase):
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=LONDON)


async def ended_meeting(runtime: Runtime, team: Team, kind: str, ended: datetime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        session.add(
            Meeting(
                case_id=team.case.id,
                title=kind,
                kind=kind,
                scheduled_at=ended - timedelta(hours=1),
                chair_id=team.chair.id,
                status="ended",
                started_at=ended - timedelta(hours=1),
                ended_at=ended,
            )
        )


async def scene(runtime: Runtime, team: Team, settings: Settings) -> datetime:
    """At the returned moment: an initial conference due in 3 working days with none scheduled, a
    TAC review a week overdue, and a TAC meeting in 3 working days whose school report is missing
    (the health visitor's is in)."""
    now = a_tuesday_ahead(settings)
    today = now.date()
    strategy_day = add_working_days(today, -12, settings.chase)
    await ended_meeting(runtime, team, "strategy", datetime.combine(strategy_day, time(11), tzinfo=LONDON))
    await ended_meeting(runtime, team, "tac", now - timedelta(weeks=7))
    async with runtime.sessionmaker() as session:
        meeting = await meetings.schedule_meeting(
            session,
            Actor(team.chair.id),
            team.chair,
            team.case.id,
            meetings.MeetingRequest(
                title="Next TAC",
                kind="tac",
                scheduled_at=datetime.combine(add_working_days(today, 3, settings.chase), time(10), tzinfo=LONDON),
                chair_id=team.chair.id,
            ),
        )
        await reports.write_mine(
            session, settings, Actor(team.lead.id), team.lead, meeting.id, reports.ReportInput("Health report")
        )
    return now


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def told(smtp: SmtpSink) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for message in smtp.messages:
        for line in message.text.splitlines():
            if line.startswith("- "):
                found[(message.rcpt_tos[0], line[2:])] += 1
    return found


async def test_milestones_and_missing_reports_are_chased_once_each(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink
) -> None:
    async with runtime.sessionmaker() as session:
        await webhooks.create_endpoint(
            session, Actor(team.admin.id), url="https://records.example.org/hooks", events=["timescale.overdue"]
        )
    now = await scene(runtime, team, mail_settings)
    first = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), now)
    assert first.other_reminders == 5  # two milestones to the chair and the lead, one report to the school
    await send_pending(runtime.sessionmaker, mail_settings)
    items = told(smtp)
    icpc = "Initial child protection conference for case T-1 is due soon and no meeting is scheduled for it"
    tac = "Team Around the Child review for case T-1 is overdue"
    assert items[(team.chair.email, icpc)] == 1
    assert items[(team.lead.email, icpc)] == 1
    assert items[(team.chair.email, tac)] == 1
    assert items[(team.lead.email, tac)] == 1
    school = [(who, what) for who, what in items if who == team.member.email]
    assert len(school) == 1
    assert "report for the Team Around the Child meeting" in school[0][1]
    assert "overdue" in school[0][1] or "due" in school[0][1]
    assert sum(items.values()) == 5
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(
        [team.chair.email, team.lead.email, team.member.email]
    )
    for message in smtp.messages:  # e-mail links; it never names the child
        assert "Child T." not in message.text
        assert "http://testserver.local/" in message.text
    async with runtime.sessionmaker() as session:
        deliveries = (await session.scalars(select(WebhookDelivery.event))).all()
    assert deliveries == ["timescale.overdue"]

    again = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), now + timedelta(minutes=5))
    assert again.other_reminders == 0
    assert (await send_pending(runtime.sessionmaker, mail_settings)).sent == 0
    assert await count(runtime, WebhookDelivery) == 1
    assert await count(runtime, ChaseLedger) == 3
    assert await count(runtime, Notification) == 5


async def test_two_passes_at_once_send_each_once(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink
) -> None:
    now = await scene(runtime, team, mail_settings)
    both = await asyncio.gather(
        *(chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), now) for _ in range(2))
    )
    assert sum(summary.other_reminders for summary in both) == 5
    sent = await asyncio.gather(*(send_pending(runtime.sessionmaker, mail_settings) for _ in range(2)))
    assert sum(report.sent for report in sent) == len(smtp.messages) == 3
    assert sum(told(smtp).values()) == 5


async def test_nothing_is_sent_outside_working_hours_and_a_scheduled_meeting_stops_the_reminder(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink
) -> None:
    now = await scene(runtime, team, mail_settings)
    evening = now.replace(hour=19)
    assert (await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), evening)).other_reminders == 0
    async with runtime.sessionmaker() as session:
        await meetings.schedule_meeting(
            session,
            Actor(team.chair.id),
            team.chair,
            team.case.id,
            meetings.MeetingRequest(
                title="ICPC", kind="initial_conference", scheduled_at=now + timedelta(days=40), chair_id=team.chair.id
            ),
        )
    summary = await chase_pass(runtime.sessionmaker, mail_settings, NoPublisher(), now)
    # The initial conference is scheduled: no reminder for it. The TAC review and the report remain.
    assert summary.other_reminders == 3
