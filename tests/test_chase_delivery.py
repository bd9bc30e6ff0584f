"""`roundtable chase --at`, end to end: real PostgreSQL, real Redis and a real SMTP server on
loopback. Each person gets one e-mail per chase run listing all their items; leads and chairs are
told at 3 and 10 working days overdue; a second run sends nothing; nothing goes out outside
working hours, and the next working-hours run sends it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.actions import service as actions
from server.actions.models import Action, ReminderLedger
from server.audit.service import Actor
from server.caller import Caller
from server.cases import service as cases
from server.config import REPO_ROOT, Settings
from server.live.events import NoPublisher
from server.notify.models import Notification, OutboxMessage
from server.people import service as people
from server.people.models import User
from server.platform.runtime import Runtime
from server.worker import chase_once
from tests.smtp import SmtpSink, count_items, digest_items, running_sink
from tests.support import ON_A_FIXED_CLOCK, SYSTEM, Team

pytestmark = ON_A_FIXED_CLOCK  # the meeting's reports are not chased on these days

# Tuesday 1 December 2026, 10:00 in London (GMT, so the same in UTC): inside working hours.
TUESDAY_TEN = "2026-12-01T10:00:00+00:00"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on a free loopback port, for this test only."""
    with running_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpSink) -> Settings:
    return dataclasses.replace(settings, smtp_url=smtp.url)


@dataclasses.dataclass
class Plan:
    """Two cases with different leads and chairs, and actions at every point of the schedule."""

    team: Team
    chair2: User
    actions: dict[str, Action]

    def expected(self) -> Counter[tuple[str, uuid.UUID, str]]:
        """What each person must receive at TUESDAY_TEN, once each."""
        t, a = self.team, self.actions
        items = [
            # Mo (member) owns actions on both cases: one e-mail with all four.
            (t.member.email, a["soon"].id, "before_due"),
            (t.member.email, a["today"].id, "due_today"),
            (t.member.email, a["ten_days"].id, "overdue"),
            (t.member.email, a["case2_ten_days"].id, "overdue"),
            # Fran (family) owns the 2- and 9-working-days-overdue actions.
            (t.family.email, a["two_days"].id, "overdue"),
            (t.family.email, a["nine_days"].id, "overdue"),
            (t.family.email, a["three_days"].id, "overdue"),
            # Lee, lead of case 1: escalations from 3 working days, and their own overdue action.
            (t.lead.email, a["three_days"].id, "escalate_lead"),
            (t.lead.email, a["nine_days"].id, "escalate_lead"),
            (t.lead.email, a["ten_days"].id, "escalate_lead"),
            (t.lead.email, a["case2_lead_owns"].id, "overdue"),
            # Chris chairs case 1's meeting: told only at 10 working days.
            (t.chair.email, a["ten_days"].id, "escalate_chair"),
            # Olly leads case 2 and owns an action 4 working days overdue: two items, one e-mail.
            (t.outsider.email, a["case2_ten_days"].id, "escalate_lead"),
            (t.outsider.email, a["case2_four_days"].id, "overdue"),
            (t.outsider.email, a["case2_four_days"].id, "escalate_lead"),
            # Cara chairs case 2 (no meeting): the case's chair is told.
            (self.chair2.email, a["case2_ten_days"].id, "escalate_chair"),
        ]
        return Counter(items)


async def _plan(runtime: Runtime, team: Team) -> Plan:
    async with runtime.sessionmaker() as session:
        chair2 = await people.create_user(
            session, SYSTEM, people.NewUser("chair2@test.example", "Cara Chair", team.chair.agency_id, None)
        )
        second = await cases.create_case(
            session,
            Actor(chair2.id),
            chair2,
            reference="T-2",
            display_name="Child U.",
            lead_professional_id=team.outsider.id,
        )
        await cases.add_member(
            Caller(session, chair2, SYSTEM, runtime.settings, NoPublisher()), second.id, team.member.id, "professional"
        )

    def action(key: str, owner: User, due: date, *, case2: bool = False, status: str = "open") -> Action:
        return Action(
            case_id=second.id if case2 else team.case.id,
            meeting_id=None if case2 else team.meeting.id,
            title=f"Action {key}",
            owner_id=owner.id,
            agency_id=owner.agency_id,
            due_date=due,
            outcome_area="staying_safe",
            status=status,
        )

    t = team
    actions = {
        # Case 1 (lead Lee, meeting chaired by Chris). Working days overdue on Tue 1 Dec in brackets.
        "soon": action("soon", t.member, date(2026, 12, 3)),  # Thursday: 2 working days ahead
        "today": action("today", t.member, date(2026, 12, 1)),
        "two_days": action("two_days", t.family, date(2026, 11, 27)),  # [2] owner only
        "three_days": action("three_days", t.family, date(2026, 11, 26)),  # [3] + lead
        "nine_days": action("nine_days", t.family, date(2026, 11, 18)),  # [9] + lead, no chair
        "ten_days": action("ten_days", t.member, date(2026, 11, 17)),  # [10] + lead + chair
        "later": action("later", t.member, date(2026, 12, 20)),  # not yet
        "done": action("done", t.member, date(2026, 11, 20), status="done"),  # closed: never
        "cancelled": action("cancelled", t.family, date(2026, 11, 2), status="cancelled"),
        # Case 2 (lead Olly, chaired by Cara as the case's chair; no meeting).
        "case2_ten_days": action("case2_ten_days", t.member, date(2026, 11, 17), case2=True),
        "case2_lead_owns": action("case2_lead_owns", t.lead, date(2026, 11, 30), case2=True),  # [1]
        "case2_four_days": action("case2_four_days", t.outsider, date(2026, 11, 25), case2=True),  # [4]
    }
    async with runtime.sessionmaker() as session, session.begin():
        session.add_all(actions.values())
    return Plan(team, chair2, actions)


async def _count(runtime: Runtime, model: type) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _pending(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        return int(await session.scalar(query) or 0)


async def test_each_person_gets_one_email_listing_all_their_items(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink, endpoints: tuple[str, str]
) -> None:
    plan = await _plan(runtime, team)
    report = await chase_once(mail_settings, *endpoints, at=TUESDAY_TEN)

    expected = plan.expected()
    people_told = {recipient for recipient, _, _ in expected}
    assert "16 reminders recorded; 6 e-mails queued" in report
    assert "E-mail sent: 6; waiting to retry: 0" in report
    messages = smtp.messages
    assert sorted(m.rcpt_tos[0] for m in messages) == sorted(people_told), "one e-mail per person"
    assert count_items(messages) == expected
    for message in messages:
        items = digest_items(message)
        user = next(u for u in [*team.roles.values(), plan.chair2] if u.email == message.rcpt_tos[0])
        assert message.message["To"] == user.email
        assert f"Dear {user.name}," in message.text
        wanted = "an action needs" if len(items) == 1 else f"{len(items)} actions need"
        assert wanted in message.subject
        assert "http://testserver.local/actions/" in message.text
    # The in-app notifications mirror the ledger, one for each reminder.
    assert await _count(runtime, ReminderLedger) == await _count(runtime, Notification) == len(expected)
    async with runtime.sessionmaker() as session:
        roles = Counter(await session.scalars(select(ReminderLedger.recipient_role)))
    assert roles == {"owner": 9, "lead_professional": 5, "chair": 2}


async def test_a_second_run_at_the_same_time_sends_nothing(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink, endpoints: tuple[str, str]
) -> None:
    plan = await _plan(runtime, team)
    await chase_once(mail_settings, *endpoints, at=TUESDAY_TEN)
    first = len(smtp.messages)
    assert first == 6

    again = await chase_once(mail_settings, *endpoints, at=TUESDAY_TEN)
    assert "0 reminders recorded; 0 e-mails queued" in again
    assert "E-mail sent: 0" in again
    later_that_day = await chase_once(mail_settings, *endpoints, at="2026-12-01T16:30:00+00:00")
    assert "0 reminders recorded" in later_that_day
    assert len(smtp.messages) == first
    assert count_items(smtp.messages) == plan.expected()
    assert await _count(runtime, OutboxMessage) == first
    assert await _pending(runtime) == 0


async def test_the_next_working_day_brings_only_what_is_new(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink, endpoints: tuple[str, str]
) -> None:
    plan = await _plan(runtime, team)
    await chase_once(mail_settings, *endpoints, at=TUESDAY_TEN)
    smtp.clear()
    a = plan.actions
    # Wednesday: "today" is overdue; "two_days" reaches 3 working days overdue and "nine_days" 10;
    # the actions first overdue on Wednesday 18 November start their third overdue week.
    await chase_once(mail_settings, *endpoints, at="2026-12-02T10:00:00+00:00")
    assert count_items(smtp.messages) == Counter(
        [
            (team.member.email, a["today"].id, "overdue"),
            (team.member.email, a["ten_days"].id, "overdue"),
            (team.member.email, a["case2_ten_days"].id, "overdue"),
            (team.lead.email, a["two_days"].id, "escalate_lead"),
            (team.chair.email, a["nine_days"].id, "escalate_chair"),
        ]
    )
    assert len(smtp.messages) == 3
    # Thursday: "soon" is due today; two more actions start a new overdue week; Lee's own action
    # on case 2 reaches 3 working days overdue and goes to that case's lead.
    smtp.clear()
    await chase_once(mail_settings, *endpoints, at="2026-12-03T10:00:00+00:00")
    assert count_items(smtp.messages) == Counter(
        [
            (team.member.email, a["soon"].id, "due_today"),
            (team.family.email, a["nine_days"].id, "overdue"),
            (team.outsider.email, a["case2_four_days"].id, "overdue"),
            (team.outsider.email, a["case2_lead_owns"].id, "escalate_lead"),  # Lee's, 3 days late
        ]
    )
    assert len(smtp.messages) == 3
    # The ledger keeps each weekly occurrence apart.
    async with runtime.sessionmaker() as session:
        occurrences = sorted(
            await session.scalars(
                select(ReminderLedger.occurrence).where(
                    ReminderLedger.action_id == a["ten_days"].id, ReminderLedger.stage == "overdue"
                )
            )
        )
    assert occurrences == [1, 2]


@pytest.mark.parametrize(
    "outside",
    [
        "2026-12-01T08:59:59+00:00",  # before 09:00 in London
        "2026-12-01T17:00:00+00:00",  # the working day ends at 17:00 (exclusive)
        "2026-12-05T10:00:00+00:00",  # Saturday
        "2026-12-01T09:30:00+01:00",  # 08:30 in London, though 09:30 where the clock says so
    ],
)
async def test_nothing_goes_out_outside_working_hours_and_the_next_run_sends_it(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink, endpoints: tuple[str, str], outside: str
) -> None:
    plan = await _plan(runtime, team)
    report = await chase_once(mail_settings, *endpoints, at=outside)
    assert report.startswith("Outside working hours")
    assert smtp.messages == []
    assert await _count(runtime, ReminderLedger) == 0
    assert await _count(runtime, OutboxMessage) == 0

    await chase_once(mail_settings, *endpoints, at="2026-12-01T09:00:00+00:00")
    assert count_items(smtp.messages) == plan.expected()


async def test_an_inactive_person_is_not_emailed_but_the_others_are(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink, endpoints: tuple[str, str]
) -> None:
    plan = await _plan(runtime, team)
    async with runtime.sessionmaker() as session, session.begin():
        family = await session.get(User, team.family.id)
        assert family is not None
        family.is_active = False
    report = await chase_once(mail_settings, *endpoints, at=TUESDAY_TEN)
    assert "5 e-mails queued" in report
    expected = Counter({item: n for item, n in plan.expected().items() if item[0] != team.family.email})
    assert count_items(smtp.messages) == expected


async def test_a_decline_told_at_once_is_not_chased_again(
    runtime: Runtime, team: Team, mail_settings: Settings, smtp: SmtpSink, endpoints: tuple[str, str]
) -> None:
    """The owner declines: the lead and the chair are told at once (and the ledger says so), so the
    chase sends them nothing more about it, and the owner is not reminded of what they declined."""
    async with runtime.sessionmaker() as session, session.begin():
        action = Action(
            case_id=team.case.id,
            meeting_id=team.meeting.id,
            title="Refer to speech and language therapy",
            owner_id=team.member.id,
            agency_id=team.member.agency_id,
            due_date=date(2026, 12, 1),
            outcome_area="being_healthy",
        )
        session.add(action)
    async with runtime.sessionmaker() as session:
        owner = await session.get(User, team.member.id)
        assert owner is not None
        await actions.change_action(
            session,
            NoPublisher(),
            mail_settings,
            Actor(owner.id),
            owner,
            action.id,
            actions.ActionChange(acceptance="declined", reason="Not a school matter"),
            today=date(2026, 11, 30),
        )
    report = await chase_once(mail_settings, *endpoints, at=TUESDAY_TEN)
    assert "0 reminders recorded; 0 e-mails queued" in report
    assert "E-mail sent: 2;" in report  # the two declines, from the outbox
    told = sorted((m.rcpt_tos[0], m.subject) for m in smtp.messages)
    assert told == [
        (team.chair.email, "Action declined: Refer to speech and language therapy"),
        (team.lead.email, "Action declined: Refer to speech and language therapy"),
    ]
    await chase_once(mail_settings, *endpoints, at="2026-12-15T10:00:00+00:00")  # two weeks on
    assert len(smtp.messages) == 2


async def test_the_chase_command_sends_the_emails_and_exits(
    runtime: Runtime,
    team: Team,
    settings: Settings,
    smtp: SmtpSink,
    endpoints: tuple[str, str],
    tmp_path: Path,
) -> None:
    plan = await _plan(runtime, team)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")},  # only what is set here
        "ROUNDTABLE_DATABASE_URL": endpoints[0],
        "ROUNDTABLE_REDIS_URL": endpoints[1],
        "ROUNDTABLE_SECRET_KEY": settings.secret_key,
        "ROUNDTABLE_SMTP_URL": smtp.url,
        "ROUNDTABLE_DATA_DIR": str(tmp_path),
        "ROUNDTABLE_BASE_URL": "http://testserver.local",
    }
    command = [sys.executable, "-m", "server.cli", "chase", "--at", "2026-12-01T10:00:00+00:00"]

    code, out, err = await run_with(command, env)
    assert code == 0, err
    assert "16 reminders recorded; 6 e-mails queued" in out
    assert "E-mail sent: 6; waiting to retry: 0." in out
    assert count_items(smtp.messages) == plan.expected()
    assert not (tmp_path / "outbox").exists(), "with an SMTP server nothing is kept as a file"

    code, out, err = await run_with(command, env)
    assert code == 0, err
    assert "0 reminders recorded" in out
    assert len(smtp.messages) == 6

    code, out, err = await run_with([*command[:-1], "1 December 2026"], env)
    assert code == 1, out
    assert "--at must be an ISO 8601 time" in err


async def run_with(command: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the command as an operator would; return its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
