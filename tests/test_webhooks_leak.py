"""In the spirit of the leak test: every kind of webhook is sent, to a real receiver, about a
professionals-only action whose title, progress note and agenda item carry a marker, on a case
whose display name is the child's; no delivery carries the marker, the child's name or anyone's
name or address. Each body is also read as the documented payload type, so README.md's list of
fields is the one sent, and each names the ids it is about (it cannot pass by sending nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
from sqlalchemy import update

from server.actions import service as actions
from server.actions.chasing import chase_pass
from server.actions.models import Action
from server.audit.service import Actor
from server.config import Settings
from server.live.events import NoPublisher
from server.meetings import room as ops
from server.meetings.room.agenda import NewItem
from server.meetings.room.record import NewAction
from server.notify.outbox import send_pending
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.timeutil import today_local
from server.webhooks import service as webhooks
from server.webhooks.events import (
    PAYLOADS,
    Envelope,
    EventType,
    MinutesApproved,
    TimescaleOverdue,
)
from tests.support import ON_A_FIXED_CLOCK, Team, room_as
from tests.webhook_receiver import Receiver, signature_matches

pytestmark = ON_A_FIXED_CLOCK

MARKER = "ZEBRA-MARKER-4411"


async def test_no_webhook_carries_a_name_or_professionals_only_content(
    runtime: Runtime, settings: Settings, team: Team
) -> None:
    pub = NoPublisher()
    async with Receiver() as receiver:
        async with runtime.sessionmaker() as session:
            _, secret = await webhooks.create_endpoint(
                session, Actor(team.admin.id), url=receiver.url, events=list(EventType)
            )
            meeting = team.meeting.id
            as_chair = room_as(runtime, session, team.chair)
            await as_chair.run(ops.start, meeting)
            private = await as_chair.run(
                ops.add_item, meeting, NewItem(f"Police intelligence {MARKER}", professionals_only=True)
            )
            due = today_local() + timedelta(days=3)
            new_action = NewAction(f"Check the record {MARKER}", team.member.id, due, "staying_safe", private.id)
            action = await as_chair.run(ops.assign_action, meeting, new_action)  # sends action.created
            assert action.professionals_only  # agreed under the professionals-only item
            await as_chair.run(ops.end, meeting)  # sends meeting.ended
            async with transaction(session):  # the payloads of the features still to come
                await webhooks.emit(
                    session,
                    EventType.MINUTES_APPROVED,
                    MinutesApproved(
                        meeting_id=meeting,
                        case_id=team.case.id,
                        case_reference=team.case.reference,
                        meeting_kind="tac",
                        status="approved",
                        approved_at=datetime.now(UTC),
                        approved_by_id=team.chair.id,
                    ),
                )
                await webhooks.emit(
                    session,
                    EventType.TIMESCALE_OVERDUE,
                    TimescaleOverdue(
                        case_id=team.case.id,
                        case_reference=team.case.reference,
                        kind="tac_review",
                        due_on=date(2026, 11, 30),
                        meeting_id=None,
                    ),
                )

        async with runtime.sessionmaker() as session:
            await actions.change_action(
                session,
                pub,
                settings,
                Actor(team.member.id),
                team.member,
                action.id,
                actions.ActionChange(progress_note=f"Checked {MARKER} with {team.case.display_name}'s school"),
                today=today_local(),
            )
            async with transaction(session):
                await session.execute(update(Action).where(Action.id == action.id).values(due_date=date(2026, 11, 30)))
        await chase_pass(runtime.sessionmaker, settings, NoPublisher(), datetime(2026, 12, 1, 10, tzinfo=UTC))
        report = await send_pending(runtime.sessionmaker, settings)
        assert report.webhooks_failed == 0

    forbidden = [MARKER, team.case.display_name, *(p.name for p in team.roles.values())]
    forbidden += [p.email for p in team.roles.values()]
    seen: set[str] = set()
    for request in receiver.requests:
        text = request.body.decode()
        assert signature_matches(secret, request)
        for word in forbidden:
            assert word not in text, f"{word!r} reached a webhook: {text}"
        kind = EventType(request.json()["type"])
        envelope = msgspec.json.decode(request.body, type=Envelope[PAYLOADS[kind]], strict=True)  # type: ignore[valid-type]
        assert envelope.data is not None
        assert str(team.case.id) in text
        seen.add(kind)
        if kind in (EventType.ACTION_CREATED, EventType.ACTION_UPDATED, EventType.ACTION_OVERDUE):
            assert request.json()["data"]["action_id"] == str(action.id)
        if kind == EventType.MEETING_ENDED:
            assert request.json()["data"]["action_ids"] == [str(action.id)]
    assert seen == set(EventType), f"not every kind of event was sent: {set(EventType) - seen}"
