"""The chase of unapproved minutes: the chair is reminded from draft_until and the minutes are
escalated at 15 working days, each stage exactly once, with two passes at once or after a pass
that died half-way; approved minutes are never chased. Real PostgreSQL and a real SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, date, datetime

from litestar import Litestar
from sqlalchemy import func, select, update

from server.actions.chasing import chase_pass
from server.config import Settings
from server.live.events import NoPublisher
from server.minutes.chase import chase_minutes
from server.minutes.models import MinutesReview
from server.notify.ledger import ChaseLedger
from server.notify.models import Notification, OutboxMessage
from server.notify.outbox import send_pending
from server.platform.db import transaction
from server.platform.runtime import Runtime
from tests.smtp import running_sink
from tests.support import ON_A_FIXED_CLOCK, Team
from tests.test_minutes import call, end_a_meeting, parse, signed_in

pytestmark = ON_A_FIXED_CLOCK

DRAFTED = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # Friday 20 November
UNTIL = date(2026, 11, 27)  # five working days later
REMIND_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday: past draft_until, 7 working days
ESCALATE_AT = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)  # Friday: 15 working days after the meeting


async def a_late_draft(app: Litestar, runtime: Runtime, team: Team) -> uuid.UUID:
    meeting = await end_a_meeting(app, team, approve=False)
    async with runtime.sessionmaker() as session, transaction(session):
        await session.execute(
            update(MinutesReview)
            .where(MinutesReview.meeting_id == meeting)
            .values(drafted_at=DRAFTED, draft_until=UNTIL)
        )
    return meeting


async def ledger(runtime: Runtime) -> list[tuple[str, list[uuid.UUID]]]:
    """Each stage of the minutes' chase recorded in the chase ledger, in order, with who was told."""
    async with runtime.sessionmaker() as session:
        stages = await session.scalars(
            select(ChaseLedger.stage).where(ChaseLedger.subject.like("minutes:%")).order_by(ChaseLedger.id)
        )
        told: dict[str, list[uuid.UUID]] = {}
        for kind, user_id in await session.execute(
            select(Notification.kind, Notification.user_id)
            .where(Notification.kind.like("minutes_%"))
            .order_by(Notification.created_at, Notification.id)
        ):
            told.setdefault(kind.removeprefix("minutes_"), []).append(user_id)
        return [(stage, told.get(stage, [])) for stage in stages]


async def minutes_mail(runtime: Runtime) -> list[OutboxMessage]:
    async with runtime.sessionmaker() as session:
        return list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Roundtable: minutes%")))
        )


async def test_two_passes_at_once_remind_the_chair_once_then_escalate_once(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    meeting = await a_late_draft(app, runtime, team)
    first = await asyncio.gather(
        *(chase_pass(runtime.sessionmaker, settings, NoPublisher(), REMIND_AT) for _ in range(2))
    )
    assert all(summary.in_working_hours for summary in first)
    assert await ledger(runtime) == [("remind_chair", [team.chair.id])]
    (reminder,) = await minutes_mail(runtime)
    assert reminder.recipients == team.chair.email
    body = parse(reminder.message).get_body(("plain",))
    assert body is not None
    assert f"/meetings/{meeting}/minutes/review" in body.get_content()

    await asyncio.gather(*(chase_pass(runtime.sessionmaker, settings, NoPublisher(), ESCALATE_AT) for _ in range(2)))
    stages = await ledger(runtime)
    assert [stage for stage, _ in stages] == ["remind_chair", "escalate"]
    assert set(stages[1][1]) == {team.chair.id, team.lead.id}
    again = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), ESCALATE_AT)
    assert again.in_working_hours
    assert len(await ledger(runtime)) == 2

    with running_sink() as sink:
        await send_pending(runtime.sessionmaker, dataclasses.replace(settings, smtp_url=sink.url))
    chased = [m for m in sink.messages if m.subject.startswith("Roundtable: minutes")]
    assert sorted(a for m in chased for a in m.rcpt_tos) == sorted([team.chair.email] * 2 + [team.lead.email])
    escalated = next(m for m in chased if m.rcpt_tos == (team.lead.email,))
    assert "still a draft, 15 working days after the meeting" in escalated.text
    async with runtime.sessionmaker() as session:
        kinds = list(await session.scalars(select(Notification.kind).where(Notification.kind.like("minutes_%"))))
    assert sorted(kinds) == ["minutes_escalate", "minutes_escalate", "minutes_remind_chair"]


async def test_a_pass_that_dies_half_way_leaves_nothing_and_the_next_does_it_once(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    await a_late_draft(app, runtime, team)

    class Crash(Exception):
        pass

    try:
        async with runtime.sessionmaker() as session, transaction(session):
            told = await chase_minutes(session, settings, ESCALATE_AT)
            assert told.reminders == 2
            raise Crash
    except Crash:
        pass
    assert await ledger(runtime) == []
    assert await minutes_mail(runtime) == []

    async with runtime.sessionmaker() as session, transaction(session):
        assert (await chase_minutes(session, settings, ESCALATE_AT)).reminders == 2
    async with runtime.sessionmaker() as session, transaction(session):
        assert (await chase_minutes(session, settings, ESCALATE_AT)).reminders == 0
    assert len(await minutes_mail(runtime)) == 3  # the chair twice (reminder, escalation), the lead once


async def test_approved_minutes_and_open_drafts_are_not_chased(
    app: Litestar, runtime: Runtime, team: Team, settings: Settings
) -> None:
    meeting = await a_late_draft(app, runtime, team)
    async with runtime.sessionmaker() as session, transaction(session):
        early = await chase_minutes(session, settings, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    assert early.reminders == 0  # the day before draft_until
    outside = await chase_pass(runtime.sessionmaker, settings, NoPublisher(), datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    assert not outside.in_working_hours  # a Saturday
    async with signed_in(app, team.chair) as chair:
        await call(chair, f"/api/meetings/{meeting}/minutes/approve")
    await chase_pass(runtime.sessionmaker, settings, NoPublisher(), ESCALATE_AT)
    assert await ledger(runtime) == []
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(ChaseLedger.subject.like("minutes:%"))) == 0
