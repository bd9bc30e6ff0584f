"""Every declared room operation keeps every screen right, in the spirit of Zulip's event tests.

For each operation in ``server.meetings.room.COMMANDS``: set up a busy room, render every region
for every audience, run the operation, render again, and fail if a region whose HTML changed for
any audience is not among the regions its kind of change publishes (server/live/regions.py).
The room as the live feed rebuilds it (the parts its kind wrote re-read, the rest kept), and the
room the operation reads in its own transaction for the feed of its process, must each render
exactly like a room read afresh, and every JSON message must match the schema. A self-check
proves the checker fails when an operation's region is taken out of the table."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import inspect, select

from server.actions.models import Action
from server.actions.service import ActionChange, change_action
from server.audit.service import Actor
from server.caller import Caller
from server.cases.invitations import invite_family_member
from server.cases.service import add_member, remove_member
from server.cases.team import update_case
from server.conference.mapping import EntryEdit, NewEntry
from server.conference.models import MappingEntry, Scale
from server.conference.notes import MinuteTaker, Notes
from server.conference.outcome import NewOutcome, ViewBody
from server.conference.scaling import MyScore, NewScale
from server.conference.voice import ChildVoiceBody
from server.live.events import MeetingChanged
from server.live.regions import CHAIR_ALIKE, REGION_ORDER, REGIONS, Region
from server.live.render import json_message, region_html
from server.meetings import room as ops
from server.meetings.changes import WRITES, ChangeKind
from server.meetings.commands import Command
from server.meetings.models import Meeting
from server.meetings.reading import load_room, read_room
from server.meetings.room.agenda import MoveItem, NewItem, Visibility
from server.meetings.room.floor import LowerHand, MoveHand, NewHand
from server.meetings.room.record import NewAction, NewDecision, PositionBody
from server.meetings.room.settings import ChairVoice
from server.meetings.shapes import StateMessage
from server.meetings.state import Audience, Room, view_for
from server.people.admin import PersonChange, change_person
from server.platform.runtime import Runtime
from server.timeutil import today_local
from tests.support import Recorder, Team, room_as

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # one clock for every render: only the change differs
# Every region carries the version and the server's clock, and the chair's "Next speaker" form the
# version it was rendered at (app.js sets it to the newest seen when the form is sent): not changes.
STAMPS = re.compile(r' data-(?:version|server-now)="[^"]*"|(?<=name="version" )value="\d+"')


@dataclass
class Scene:
    """A live room with three items (one for professionals only), the chair, the member and the
    family present, the member speaking after the family did, the family's and the chair's hands
    up, a decision and an action on the open item, and an action still open from an earlier
    meeting."""

    runtime: Runtime
    team: Team
    items: dict[str, uuid.UUID]
    hands: dict[str, uuid.UUID]
    held: Room | None = None  # the room a live feed in this process holds, when one does

    @property
    def meeting(self) -> uuid.UUID:
        return self.team.meeting.id

    async def run(self, who: str, command: Command[Any, Any], body: Any = None, target: Any = None) -> list[Any]:
        recorder = Recorder(self.held)
        async with self.runtime.sessionmaker() as session:
            user = getattr(self.team, who)
            await room_as(self.runtime, session, user, recorder).run(command, self.meeting, body, target)
        return recorder.changes


async def busy_room(runtime: Runtime, team: Team, *, start: bool = True) -> Scene:
    scene = Scene(runtime, team, {}, {})
    due = today_local() + timedelta(days=14)
    async with runtime.sessionmaker() as session:
        meeting = await session.get(Meeting, team.meeting.id)
        assert meeting is not None
        meeting.kind = "initial_conference"  # so that the outcome has its panel
        await session.commit()
        chair = room_as(runtime, session, team.chair)
        for name, pro in (("health", False), ("school", False), ("police", True)):
            item = await chair.run(ops.add_item, team.meeting.id, NewItem(f"Item {name}", professionals_only=pro))
            scene.items[name] = item.id
        if not start:
            return scene
        await chair.run(ops.start, team.meeting.id)
        await chair.run(ops.open_item, team.meeting.id, target=scene.items["health"])
        for who in (team.member, team.family):
            await room_as(runtime, session, who).run(ops.join, team.meeting.id)
        await room_as(runtime, session, team.family).run(ops.raise_hand, team.meeting.id, NewHand())
        await chair.run(ops.floor_next, team.meeting.id)  # the family speaks first
        await room_as(runtime, session, team.member).run(ops.raise_hand, team.meeting.id, NewHand())
        await chair.run(ops.floor_next, team.meeting.id)  # the family's turn ends: one turn on record
        family = await room_as(runtime, session, team.family).run(ops.raise_hand, team.meeting.id, NewHand())
        mine = await chair.run(ops.raise_hand, team.meeting.id, NewHand())
        scene.hands = {"family": family.id, "chair": mine.id}
        decision = await chair.run(
            ops.record_decision,
            team.meeting.id,
            NewDecision(scene.items["health"], "A health assessment", "agreed"),
        )
        scene.items["decision"] = decision.id
        await chair.run(
            ops.assign_action, team.meeting.id, NewAction("Book the assessment", team.lead.id, due, "being_healthy")
        )
        await conference_scene(runtime, session, scene)
    return scene


async def conference_scene(runtime: Runtime, session: Any, scene: Scene) -> None:
    """The conference's content: the child's voice, notes, a board with an entry by the family and
    one under the professionals-only item, and a revealed scale."""
    team, meeting = scene.team, scene.team.meeting.id
    chair = room_as(runtime, session, team.chair)
    member = room_as(runtime, session, team.member)
    family = room_as(runtime, session, team.family)
    await member.run(ops.record_child_voice, meeting, ChildVoiceBody("Drawing with the nurse", "I like nursery"))
    await chair.run(ops.write_notes, meeting, Notes("Health visitor reported"), scene.items["health"])
    entry = await family.run(ops.add_entry, meeting, NewEntry("working_well", "Grandma helps every day"))
    scene.items["entry"] = entry.id
    await member.run(ops.add_entry, meeting, NewEntry("worry", "Police intelligence", scene.items["police"]))
    scale = await chair.run(ops.open_scale, meeting, NewScale("How safe is the child at home?"))
    await member.run(ops.score_scale, meeting, MyScore(4, "Worried"), scale.id)
    await family.run(ops.score_scale, meeting, MyScore(8), scale.id)
    await chair.run(ops.reveal_scale, meeting, target=scale.id)


async def an_open_scale(scene: Scene) -> None:
    async with scene.runtime.sessionmaker() as session:
        await room_as(scene.runtime, session, scene.team.chair).run(ops.open_scale, scene.meeting, NewScale("Today?"))


async def an_open_scale_with_a_score(scene: Scene) -> None:
    await an_open_scale(scene)
    async with scene.runtime.sessionmaker() as session:
        await room_as(scene.runtime, session, scene.team.member).run(
            ops.score_scale, scene.meeting, MyScore(3), await open_scale_id(scene)
        )


async def open_scale_id(scene: Scene) -> uuid.UUID:
    async with scene.runtime.sessionmaker() as session:
        found = await session.scalar(select(Scale.id).where(Scale.meeting_id == scene.meeting, Scale.status == "open"))
    assert found is not None
    return found


async def score_open(scene: Scene) -> list[MeetingChanged]:
    return await scene.run("family", ops.score_scale, MyScore(7, "Better"), await open_scale_id(scene))


async def reveal_open(scene: Scene) -> list[MeetingChanged]:
    return await scene.run("chair", ops.reveal_scale, target=await open_scale_id(scene))


async def police_entry(scene: Scene) -> uuid.UUID:
    async with scene.runtime.sessionmaker() as session:
        found = await session.scalar(
            select(MappingEntry.id).where(MappingEntry.agenda_item_id == scene.items["police"])
        )
    assert found is not None
    return found


PREPARE: dict[str, Callable[[Scene], Awaitable[None]]] = {
    "score a scale": an_open_scale,
    "reveal a scale": an_open_scale_with_a_score,
}


Step = Callable[[Scene], Awaitable[list[MeetingChanged]]]
due_date = today_local() + timedelta(days=10)

SCENARIOS: dict[str, tuple[Command[Any, Any], Step, bool]] = {
    # name: (the command, how to run it on the scene, whether the scene is started)
    "start": (ops.start, lambda s: s.run("chair", ops.start), False),
    "end": (ops.end, lambda s: s.run("chair", ops.end), True),
    "join": (ops.join, lambda s: s.run("lead", ops.join), True),
    "leave with a hand up": (ops.leave, lambda s: s.run("family", ops.leave), True),
    "add an item": (ops.add_item, lambda s: s.run("chair", ops.add_item, NewItem("Any other business")), True),
    "open an item": (ops.open_item, lambda s: s.run("chair", ops.open_item, target=s.items["school"]), True),
    "open a professionals-only item": (
        ops.open_item,
        lambda s: s.run("chair", ops.open_item, target=s.items["police"]),
        True,
    ),
    "move an item": (ops.move_item, lambda s: s.run("chair", ops.move_item, MoveItem(0), s.items["police"]), True),
    "hide an item from the family": (
        ops.set_visibility,
        lambda s: s.run("chair", ops.set_visibility, Visibility(True), s.items["health"]),
        True,
    ),
    "raise a hand": (ops.raise_hand, lambda s: s.run("family", ops.raise_hand, NewHand("point_of_order")), True),
    "raise a hand for someone": (
        ops.raise_hand,
        lambda s: s.run("chair", ops.raise_hand, NewHand(user_id=s.team.lead.id)),
        True,
    ),
    "raise a hand for someone in the room": (
        ops.raise_hand,
        lambda s: s.run("chair", ops.raise_hand, NewHand("point_of_order", user_id=s.team.member.id)),
        True,
    ),
    "reply to the speaker": (ops.raise_hand, lambda s: s.run("family", ops.raise_hand, NewHand("reply")), True),
    "lower a hand": (ops.lower_hand, lambda s: s.run("family", ops.lower_hand, LowerHand()), True),
    "move a hand": (ops.move_hand, lambda s: s.run("chair", ops.move_hand, MoveHand(0), s.hands["chair"]), True),
    "a round": (ops.start_round, lambda s: s.run("chair", ops.start_round), True),
    "the chair speaks for their agency": (
        ops.set_chair_voice,
        lambda s: s.run("chair", ops.set_chair_voice, ChairVoice(speaks_for_agency=True)),
        True,
    ),
    "next speaker": (ops.floor_next, lambda s: s.run("chair", ops.floor_next), True),
    "end a turn": (ops.floor_end, lambda s: s.run("member", ops.floor_end), True),
    "record a decision": (
        ops.record_decision,
        lambda s: s.run(
            "chair",
            ops.record_decision,
            NewDecision(
                s.items["health"],
                "Nursery from September",
                "agreed",
                [PositionBody(s.team.member.agency_id, "disagree", "Too soon")],
            ),
        ),
        True,
    ),
    "assign an action": (
        ops.assign_action,
        lambda s: s.run(
            "chair",
            ops.assign_action,
            NewAction("Visit at home", s.team.member.id, due_date, "staying_safe", decision_id=s.items["decision"]),
        ),
        True,
    ),
    "name the minute-taker": (
        ops.set_minute_taker,
        lambda s: s.run("chair", ops.set_minute_taker, MinuteTaker(s.team.member.id)),
        True,
    ),
    "write notes": (
        ops.write_notes,
        lambda s: s.run("chair", ops.write_notes, Notes("Mother attended with her sister", 1), s.items["health"]),
        True,
    ),
    "write notes on a professionals-only item": (
        ops.write_notes,
        lambda s: s.run("chair", ops.write_notes, Notes("Police check pending"), s.items["police"]),
        True,
    ),
    "record the child's voice": (
        ops.record_child_voice,
        lambda s: s.run("member", ops.record_child_voice, ChildVoiceBody("At school", "I miss my dad", None, True)),
        True,
    ),
    "add to the board": (
        ops.add_entry,
        lambda s: s.run("family", ops.add_entry, NewEntry("next_steps", "A family network meeting")),
        True,
    ),
    "add to the board under a professionals-only item": (
        ops.add_entry,
        lambda s: s.run("member", ops.add_entry, NewEntry("danger_statement", "Risk of harm", s.items["police"])),
        True,
    ),
    "edit one's entry": (
        ops.edit_entry,
        lambda s: s.run("family", ops.edit_entry, EntryEdit("Grandma helps most days"), s.items["entry"]),
        True,
    ),
    "remove an entry": (ops.remove_entry, lambda s: s.run("chair", ops.remove_entry, target=s.items["entry"]), True),
    "remove a professionals-only entry": (
        ops.remove_entry,
        lambda s: _remove_police_entry(s),
        True,
    ),
    "open a scale": (ops.open_scale, lambda s: s.run("chair", ops.open_scale, NewScale("How safe now?")), True),
    "score a scale": (ops.score_scale, score_open, True),
    "reveal a scale": (ops.reveal_scale, reveal_open, True),
    "record the outcome": (
        ops.record_outcome,
        lambda s: s.run(
            "chair",
            ops.record_outcome,
            NewOutcome(
                True,
                "Significant harm from neglect",
                ["neglect"],
                [ViewBody(s.team.member.agency_id, "no_plan", "Improving at school")],
            ),
        ),
        True,
    ),
}


async def _remove_police_entry(scene: Scene) -> list[MeetingChanged]:
    return await scene.run("chair", ops.remove_entry, target=await police_entry(scene))


async def an_action_done_elsewhere(scene: Scene) -> list[MeetingChanged]:
    """Not a room operation: the owner marks their action done from the action page."""
    recorder = Recorder()
    async with scene.runtime.sessionmaker() as session:
        action_id = await session.scalar(select(Action.id).where(Action.meeting_id == scene.meeting))
        assert action_id is not None
        await change_action(
            session,
            recorder,
            scene.runtime.settings,
            Actor(scene.team.lead.id),
            scene.team.lead,
            action_id,
            ActionChange(status="done"),
            today=today_local(),
        )
    return recorder.changes


async def elsewhere(scene: Scene, who: str, change: Callable[[Caller], Awaitable[Any]]) -> list[MeetingChanged]:
    """A change made outside the room (a page or the API) by one of the team."""
    recorder = Recorder()
    async with scene.runtime.sessionmaker() as session:
        user = getattr(scene.team, who)
        await change(Caller(session, user, Actor(user.id), scene.runtime.settings, recorder))
    return recorder.changes


async def someone_joins_the_team(scene: Scene) -> list[MeetingChanged]:
    """The chair adds a police officer to the case's team."""
    team = scene.team
    return await elsewhere(scene, "chair", lambda c: add_member(c, team.case.id, team.outsider.id, "professional"))


async def a_carer_invited(scene: Scene) -> list[MeetingChanged]:
    """The chair invites a second carer, who joins the team with the family role."""
    team = scene.team
    return await elsewhere(
        scene, "chair", lambda c: invite_family_member(c, team.case.id, email="carer@test.example", name="Sam Smith")
    )


async def someone_leaves_the_team(scene: Scene) -> list[MeetingChanged]:
    """The chair takes the school's member off the team."""
    team = scene.team
    return await elsewhere(scene, "chair", lambda c: remove_member(c, team.case.id, team.member.id))


async def the_case_renamed(scene: Scene) -> list[MeetingChanged]:
    """The chair corrects the case's display name, from the case page."""
    team = scene.team
    return await elsewhere(scene, "chair", lambda c: update_case(c, team.case.id, display_name="Child T. (age 6)"))


async def a_member_renamed(scene: Scene) -> list[MeetingChanged]:
    """An administrator corrects the member's name."""
    change = PersonChange(name="Morgan Member-Price")
    member = scene.team.member.id
    return await elsewhere(scene, "admin", lambda c: change_person(c.db, c.publisher, c.actor, c.user, member, change))


ELSEWHERE: dict[str, tuple[ChangeKind, Step]] = {
    "an action done elsewhere": (ChangeKind.ACTION_UPDATED, an_action_done_elsewhere),
    "someone joins the team": (ChangeKind.TEAM, someone_joins_the_team),
    "a carer invited": (ChangeKind.TEAM, a_carer_invited),
    "someone leaves the team": (ChangeKind.TEAM, someone_leaves_the_team),
    "the case renamed": (ChangeKind.TEAM, the_case_renamed),
    "a member renamed": (ChangeKind.TEAM, a_member_renamed),
}


def render(app: Litestar, room: Room) -> dict[tuple[Audience, Region], str]:
    """Every region for every audience; the regions declared alike for the chair and the
    professionals (rendered once for both) must be so in every scene."""
    env = app.template_engine.engine  # type: ignore[union-attr]
    pages = {}
    for audience in Audience:
        view = view_for(room, audience, NOW)
        for region in REGION_ORDER:
            pages[(audience, region)] = STAMPS.sub("", region_html(env, view, [region]))
    for region in CHAIR_ALIKE:
        assert pages[(Audience.CHAIR, region)] == pages[(Audience.PROFESSIONALS, region)], f"{region} differs"
    return pages


def row_values(room: Room) -> list[tuple[str, dict[str, Any]]]:
    """Every column of every row a room holds: a change may read the room the feed holds, and
    must never write to it."""
    rows = [room.meeting, room.case, *room.agenda, *room.team, *room.attendance, *room.hands, *room.turns]
    rows += [*room.decisions, *room.actions, *room.carried_actions]
    found = []
    for row in rows:
        state: Any = inspect(row)
        found.append((type(row).__name__, {a.key: state.dict.get(a.key) for a in state.mapper.column_attrs}))
    return found


def unpublished(
    before: dict[tuple[Audience, Region], str],
    after: dict[tuple[Audience, Region], str],
    kinds: frozenset[ChangeKind],
    table: dict[ChangeKind, frozenset[Region]],
) -> set[tuple[str, str]]:
    """(audience, region) pairs whose HTML changed but which the table does not publish."""
    published = frozenset().union(*(table[k] for k in kinds))
    return {(a.value, r.value) for (a, r), html in after.items() if html != before[(a, r)] and r not in published}


def changed_regions(
    before: dict[tuple[Audience, Region], str], after: dict[tuple[Audience, Region], str]
) -> set[Region]:
    return {r for (a, r), html in after.items() if html != before[(a, r)]}


async def test_every_declared_operation_has_a_scenario() -> None:
    covered = {command.name for command, _, _ in SCENARIOS.values()}
    assert covered >= {c.name for c in ops.COMMANDS}, "add a scenario for every operation"


@pytest.mark.parametrize("name", [*SCENARIOS, *ELSEWHERE])
async def test_each_operation_publishes_every_region_it_changes(
    name: str, app: Litestar, runtime: Runtime, team: Team
) -> None:
    if name in ELSEWHERE:
        kind, step = ELSEWHERE[name]
        command: Any = SimpleNamespace(change=kind, also=frozenset())
        started = True
    else:
        command, step, started = SCENARIOS[name]
    scene = await busy_room(runtime, team, start=started)
    if name in PREPARE:
        await PREPARE[name](scene)
    async with runtime.sessionmaker() as session:
        previous = await load_room(session, scene.meeting)
    before = render(app, previous)
    scene.held = previous

    rows_before = row_values(previous)
    changes = await step(scene)

    assert row_values(previous) == rows_before, f"{name}: the change altered the room this process's feed holds"
    assert [c.kind for c in changes] == [command.change], "one notice, of the declared kind"
    kinds = changes[0].kinds
    assert kinds - {command.change} <= command.also, "other kinds only as declared"
    assert changes[0].version == previous.version + 1
    async with runtime.sessionmaker() as session:
        fresh = await load_room(session, scene.meeting)
    async with runtime.sessionmaker() as session:
        rebuilt = await read_room(session, scene.meeting, frozenset().union(*(WRITES[k] for k in kinds)), previous)
    after = render(app, fresh)
    assert changed_regions(before, after), f"{name}: the operation changed nothing anyone sees"
    assert not unpublished(before, after, kinds, REGIONS), f"{name}: regions changed but not published for {kinds}"
    assert render(app, rebuilt) == after, f"{name}: re-reading only what {sorted(kinds)} wrote left a stale room"
    if name not in ELSEWHERE:
        handed = changes[0].room
        assert handed is not None, "the room read in the change's transaction comes with the notice"
        assert handed.version == fresh.version
        assert render(app, handed) == after, f"{name}: the room read in the change's transaction is not the room"
    for audience in Audience:
        message = json_message(view_for(fresh, audience, NOW), command.change)
        decoded = msgspec.json.decode(message, type=StateMessage, strict=True)
        assert decoded.version == fresh.version
        assert decoded.type == command.change
        for kept in (rebuilt, *([] if name in ELSEWHERE else [changes[0].room])):
            assert kept is not None
            assert json_message(view_for(kept, audience, NOW), command.change) == message, f"{name}: stale state"


@pytest.mark.parametrize("name", ["join", "record a decision", "next speaker", "hide an item from the family"])
async def test_the_check_fails_when_a_region_is_taken_out_of_the_table(
    name: str, app: Litestar, runtime: Runtime, team: Team
) -> None:
    """The checker above is not vacuous: without one of the regions an operation changes, it fails."""
    _, step, started = SCENARIOS[name]
    scene = await busy_room(runtime, team, start=started)
    async with runtime.sessionmaker() as session:
        before = render(app, await load_room(session, scene.meeting))
    (change,) = await step(scene)
    async with runtime.sessionmaker() as session:
        after = render(app, await load_room(session, scene.meeting))
    for region in changed_regions(before, after):
        table = {kind: regions - {region} if kind in change.kinds else regions for kind, regions in REGIONS.items()}
        assert unpublished(before, after, change.kinds, table), f"removing {region} went unnoticed"
