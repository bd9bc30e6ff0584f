"""Every page of the app, for tests that visit them all: a case with one of everything a page or
its forms act on (a scheduled, a live and an ended meeting, an open item, a raised hand, the
floor taken, a decision, an action waiting to be accepted, an invitation link, an e-mail in the
outbox), and the concrete paths of the app's routes filled from it."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.routes import HTTPRoute

from server.audit.service import Actor
from server.conference.mapping import NewEntry
from server.conference.scaling import NewScale
from server.meetings import room
from server.meetings import service as meetings
from server.meetings.room.agenda import NewItem
from server.meetings.room.floor import NewHand
from server.meetings.room.record import NewAction, NewDecision
from server.minutes import lifecycle
from server.notify.models import OutboxMessage
from server.people import service as people
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.reports import service as reports
from server.timeutil import today_local
from server.webhooks import service as webhooks
from tests.support import Team, caller_as, room_as

PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


async def every_kind_of_thing(runtime: Runtime, team: Team) -> dict[str, list[str]]:
    """Beside the team's scheduled meeting, an ended one (with its minutes) and one under way with
    everything its room's forms act on. Returns the ids a route's parameters take, by name."""
    settings = runtime.settings
    chair = Actor(team.chair.id)
    async with runtime.sessionmaker() as s:
        ended = await meetings.schedule_meeting(
            s,
            chair,
            team.chair,
            team.case.id,
            meetings.MeetingRequest("Last review", "tac", datetime.now(UTC) + timedelta(hours=2), team.chair.id),
        )
        as_chair = room_as(runtime, s, team.chair)
        await as_chair.run(room.start, ended.id)
        await room_as(runtime, s, team.family).run(room.join, ended.id)
        minuted = await as_chair.run(room.add_item, ended.id, NewItem("Minuted item"))
        await as_chair.run(room.end, ended.id)
        correction = await lifecycle.correct(caller_as(runtime, s, team.family), ended.id, text="We said mornings")
        live = await meetings.schedule_meeting(
            s,
            chair,
            team.chair,
            team.case.id,
            meetings.MeetingRequest("Live review", "tac", datetime.now(UTC) + timedelta(hours=1), team.chair.id),
        )
        await as_chair.run(room.start, live.id)
        for person in (team.member, team.lead, team.family):
            await room_as(runtime, s, person).run(room.join, live.id)
        item = await as_chair.run(room.add_item, live.id, NewItem("Health"))
        other = await as_chair.run(room.add_item, live.id, NewItem("Police check", professionals_only=True))
        await as_chair.run(room.open_item, live.id, target=item.id)
        await room_as(runtime, s, team.lead).run(room.raise_hand, live.id, NewHand())
        await as_chair.run(room.floor_next, live.id)  # the lead speaks
        hand = await room_as(runtime, s, team.family).run(room.raise_hand, live.id, NewHand())
        await room_as(runtime, s, team.member).run(room.raise_hand, live.id, NewHand())
        decision = await as_chair.run(room.record_decision, live.id, NewDecision(item.id, "Refer", "agreed"))
        due = today_local() + timedelta(days=9)
        action = await as_chair.run(
            room.assign_action, live.id, NewAction("Refer to speech therapy", team.member.id, due, "being_healthy")
        )
        entry = await room_as(runtime, s, team.family).run(room.add_entry, live.id, NewEntry("worry", "Late again"))
        scale = await as_chair.run(room.open_scale, live.id, NewScale("How safe is the child?"))
        conference = await meetings.schedule_meeting(  # its room offers the outcome and a new scale
            s,
            chair,
            team.chair,
            team.case.id,
            meetings.MeetingRequest(
                "Initial conference", "initial_conference", datetime.now(UTC) + timedelta(hours=3), team.chair.id
            ),
        )
        await as_chair.run(room.start, conference.id)
        gone = await people.create_user(
            s, Actor(None), people.NewUser("gone@test.example", "Gil Gone", team.member.agency_id, None)
        )
        async with transaction(s):
            gone.is_active = False  # someone who left: their page offers reactivation
            token = people.new_invitation(s, settings, team.family.id, team.case.id, team.chair.id)
        message = await s.scalar(OutboxMessage.__table__.select().with_only_columns(OutboxMessage.id).limit(1))
        report = await reports.write_mine(
            s, settings, Actor(team.member.id), team.member, team.meeting.id, reports.ReportInput("School report")
        )
        endpoint, _ = await webhooks.create_endpoint(
            s, Actor(team.admin.id), url="https://records.example.org/hooks", events=["meeting.ended"]
        )
    return {
        "case_id": [str(team.case.id)],
        "meeting_id": [str(team.meeting.id), str(conference.id), str(live.id), str(ended.id)],
        "action_id": [str(action.id)],
        "item_id": [str(item.id), str(minuted.id), str(other.id)],
        "correction_id": [str(correction.id)],
        "hand_id": [str(hand.id)],
        "entry_id": [str(entry.id)],
        "scale_id": [str(scale.id)],
        "decision_id": [str(decision.id)],
        "user_id": [str(team.member.id), str(gone.id)],
        "message_id": [str(message)],
        "token": [token],
        "webhook_id": [str(endpoint.id)],
        "report_id": [str(report.id)],
    }


PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def paths_of(app: Litestar, method: str, ids: dict[str, list[str]], *, api: bool) -> list[tuple[str, str]]:
    """Every concrete path of the app's routes for a method, each parameter filled from ``ids``:
    (route pattern, path)."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(("/static", "/schema")):
            continue
        if route.path.startswith("/api/") is not api:
            continue
        if method not in route.route_handler_map:
            continue
        names = PARAM.findall(route.path)
        missing = [name for name in names if name not in ids]
        assert not missing, f"{route.path}: give the test an id for {missing}"
        for values in itertools.product(*(ids[name] for name in names)):
            path = route.path
            for name, value in zip(names, values, strict=True):
                path = re.sub(r"\{" + name + r"(?::\w+)?\}", value, path, count=1)
            found.append((route.path, path))
    return found
