"""One meeting's live feed in one web process: its sockets, the room as last read, and the loop
that turns notices into messages.

Notices say which version a change made and what kind of change it was. The loop reads the
meeting row and, when every version since the room it holds has been heard of, re-reads only
the parts those kinds wrote (server/meetings/changes.py) and re-renders only the regions they
touch (server/live/regions.py); otherwise (a lost notice, Redis back after an outage) it reads
and sends the whole room. Everything is read in one REPEATABLE READ snapshot, so a room is always
exactly one version.

Whatever is read goes to everyone: a socket asking for the whole room never moves the feed on
without the others, so nobody can be left on an older version than the meeting's (the race
between a whole-room send and a change's notice). Rendering happens once per audience; sockets
only ever get bytes queued (server/live/clients.py), so nobody waits for a slow participant."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace

from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.errors import NotFound
from server.live.clients import Client
from server.live.events import MeetingChanged
from server.live.regions import ALL_REGIONS, PRESENCE_REGIONS, Region, regions_for
from server.live.render import json_message, region_html
from server.meetings.changes import ALL_PARTS, Part, parts_for
from server.meetings.models import Meeting
from server.meetings.reading import read_room
from server.meetings.state import Audience, Room, RoomView, family_sees_all, view_for
from server.platform.db import utcnow
from server.platform.tasks import stop_if_cancelled

log = logging.getLogger("roundtable.live")
RETRY_FIRST, RETRY_MAX = 0.2, 5.0


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What every feed of a process shares."""

    sessionmaker: async_sessionmaker[AsyncSession]
    templates: Environment
    connected: Callable[[uuid.UUID], Awaitable[frozenset[uuid.UUID]]]


@dataclass(frozen=True, slots=True)
class Plan:
    """What one step reads and sends, decided from the version found and the notices heard."""

    parts: frozenset[Part]
    regions: frozenset[Region]
    message_type: str


Payloads = dict[tuple[Audience, bool], str]  # by audience, and whether the socket wants JSON


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What one step sends: these regions (to browsers), the message's type (to API clients),
    and whether the degraded-connection banner goes with them."""

    regions: frozenset[Region]
    message_type: str
    banner: bool = False

    @property
    def empty(self) -> bool:
        return not (self.regions or self.message_type or self.banner)


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a change sends to the sockets that have the room before it, rendered while the
    change commits (:meth:`MeetingFeed.render_ahead`), with the people connected then."""

    outgoing: Outgoing
    connected: frozenset[uuid.UUID]
    payloads: Payloads

    def fits(self, outgoing: Outgoing, connected: frozenset[uuid.UUID]) -> bool:
        """Whether it is what the feed sends now: the same message, the same people connected."""
        return (self.outgoing, self.connected) == (outgoing, connected)


def plan(previous: Room | None, version: int, heard: dict[int, MeetingChanged], full: bool) -> Plan:
    """Pure: the parts to read and the regions to send for a room found at ``version``."""
    if previous is None:
        return Plan(ALL_PARTS, ALL_REGIONS, "change")
    if version <= previous.version:
        return Plan(ALL_PARTS if full else frozenset(), frozenset(), "")
    versions = range(previous.version + 1, version + 1)
    if full or any(v not in heard for v in versions):
        return Plan(ALL_PARTS, ALL_REGIONS, "change")
    kinds = frozenset().union(*(heard[v].kinds for v in versions))
    return Plan(parts_for(kinds), regions_for(kinds), heard[version].kind if len(versions) == 1 else "change")


class MeetingFeed:
    def __init__(self, meeting_id: uuid.UUID, context: FeedContext) -> None:
        self.meeting_id = meeting_id
        self.context = context
        self.clients: set[Client] = set()  # have the room at ``room.version``
        self.fresh: set[Client] = set()  # waiting for their first whole room
        self.room: Room | None = None
        self.heard: dict[int, MeetingChanged] = {}
        self.full = False
        self.presence_due = True
        self.connected: frozenset[uuid.UUID] = frozenset()
        self.degraded = False
        self.degraded_due = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # --- what the hub tells the feed ------------------------------------------------------------

    def hear(self, change: MeetingChanged) -> None:
        if self.room is not None and change.version <= self.room.version:
            return  # already sent: a notice that arrived after the room it announced
        self.heard[change.version] = change
        self.wake.set()

    def presence_changed(self) -> None:
        self.presence_due = True
        self.wake.set()

    def resync(self) -> None:
        """Read the whole room again (notices may have been lost)."""
        self.full = True
        self.wake.set()

    def set_degraded(self, degraded: bool) -> None:
        if degraded != self.degraded:
            self.degraded, self.degraded_due = degraded, True
            self.wake.set()

    def add(self, client: Client) -> None:
        self.fresh.add(client)
        self.wake.set()

    def discard(self, client: Client) -> None:
        self.clients.discard(client)
        self.fresh.discard(client)

    @property
    def empty(self) -> bool:
        return not self.clients and not self.fresh

    # --- the loop ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="live-feed")

    async def _run(self) -> None:
        delay = RETRY_FIRST
        while True:
            await self.wake.wait()
            self.wake.clear()
            try:
                await self.step()
                delay = RETRY_FIRST
            except Exception:  # the database is away, say: nothing is lost, try again soon
                stop_if_cancelled()
                log.exception("live: bringing meeting %s up to date failed; retrying in %.1fs", self.meeting_id, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                self.wake.set()
            stop_if_cancelled()

    async def step(self) -> None:
        """Read what changed, then send it: the changed regions to everyone who has the room,
        the whole room to those who have just come."""
        fresh, presence_due, degraded_due = set(self.fresh), self.presence_due, self.degraded_due
        connected = self.connected
        if presence_due:
            try:
                connected = await self.context.connected(self.meeting_id)
            except Exception as error:  # Redis away: keep showing who was connected
                log.warning("live: could not read presence for %s: %s", self.meeting_id, error)
        previous = self.room
        change = self._next_handed(previous)
        room, decided = (change.room, _plan_of(change)) if change is not None else await self._read(previous)
        if room is None:  # the meeting no longer exists
            for client in self.clients | self.fresh:
                await client.stop(4404, "No such meeting.")
            self.clients, self.fresh = set(), set()
            return
        self.room, self.connected, self.full = room, connected, False
        self.heard = {v: k for v, k in self.heard.items() if v > room.version}
        self.presence_due = self.presence_due and not presence_due
        self.degraded_due = self.degraded_due and not degraded_due
        self.fresh -= fresh
        presence_moved = presence_due and previous is not None
        regions = decided.regions | (PRESENCE_REGIONS if presence_moved else frozenset())
        message_type = decided.message_type or ("presence" if presence_moved else "")
        ahead = None if change is None else change.rendered
        self._send(room, self.clients, Outgoing(regions, message_type, degraded_due), ahead)
        self._send(room, fresh, Outgoing(ALL_REGIONS, "state", self.degraded))
        self.clients |= fresh

    def _next_handed(self, previous: Room | None) -> MeetingChanged | None:
        """The next version's change, when it brought the room with it (read in its transaction,
        in this process) and that is the one version this feed is missing."""
        if previous is None or self.full:
            return None
        change = self.heard.get(previous.version + 1)
        return change if change is not None and change.room is not None else None

    async def render_ahead(self, change: MeetingChanged) -> MeetingChanged:
        """The change with the messages the sockets that have the room now will be sent, when it
        is the next version and brings its room: rendered while it commits, so that after the
        commit the feed only queues them. The event loop gets a turn between payloads, so that
        the commit moves on as its answers come. The feed renders afresh what no longer matches
        (someone came or went meanwhile, the banner changed); a change whose commit fails is never
        heard."""
        if change.room is None or self.room is None or self.full or change.version != self.room.version + 1:
            return change
        decided = _plan_of(change)
        outgoing = Outgoing(decided.regions, decided.message_type)
        connected, shared = self.connected, family_sees_all(change.room)
        keys = {_key(c, shared) for c in self.clients}
        payloads: Payloads = {}
        try:
            for key, payload in self._rendering(change.room, keys, outgoing, connected):
                payloads[key] = payload
                if len(payloads) < len(keys):
                    await _let_the_commit_move()
        except Exception:  # the feed renders it again after the commit, and logs what fails there
            return change
        return replace(change, rendered=Rendered(outgoing, connected, payloads))

    async def _read(self, previous: Room | None) -> tuple[Room | None, Plan]:
        """The room as it is now, one snapshot, re-reading only what the plan needs."""
        decided = Plan(frozenset(), frozenset(), "")

        def choose(meeting: Meeting) -> frozenset[Part]:
            nonlocal decided
            decided = plan(previous, meeting.version, self.heard, self.full)
            return decided.parts

        async with self.context.sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            try:
                room = await read_room(session, self.meeting_id, choose, previous)
            except NotFound:
                return None, decided
            await session.commit()
        return room, decided

    def _send(self, room: Room, clients: set[Client], outgoing: Outgoing, ahead: Rendered | None = None) -> None:
        """Render once per audience that has sockets here (or take what was rendered ahead for
        exactly this, with the same people connected), and queue the same bytes to each."""
        if not clients or outgoing.empty:
            return
        shared = family_sees_all(room)
        keys = {client: _key(client, shared) for client in clients}
        made = ahead.payloads if ahead is not None and ahead.fits(outgoing, self.connected) else {}
        payloads = made | self._render(room, set(keys.values()) - made.keys(), outgoing)
        for client, key in keys.items():
            if payloads[key]:
                client.offer(payloads[key])

    def _render(self, room: Room, keys: set[tuple[Audience, bool]], outgoing: Outgoing) -> Payloads:
        return dict(self._rendering(room, keys, outgoing, self.connected))

    def _rendering(
        self, room: Room, keys: set[tuple[Audience, bool]], outgoing: Outgoing, connected: frozenset[uuid.UUID]
    ) -> Iterator[tuple[tuple[Audience, bool], str]]:
        """One payload per (audience, wants JSON) in ``keys``, each audience's view derived once
        and the regions alike for the chair and the professionals rendered once for both."""
        now = utcnow()
        views: dict[Audience, RoomView] = {}
        alike: dict[Region, str] = {}
        for audience, wants_json in keys:
            view = views.get(audience) or views.setdefault(audience, view_for(room, audience, now, connected))
            yield (audience, wants_json), self._payload(view, wants_json, outgoing, alike)

    def _payload(self, view: RoomView, wants_json: bool, outgoing: Outgoing, alike: dict[Region, str]) -> str:
        if wants_json:
            return json_message(view, outgoing.message_type) if outgoing.message_type else ""
        html = region_html(self.context.templates, view, outgoing.regions, alike=alike)
        if outgoing.banner:
            html += self.context.templates.get_template("live/_degraded.html").render(degraded=self.degraded)
        return html


async def _let_the_commit_move() -> None:
    """Two turns of the event loop: in the first the database's answer is read off its socket,
    in the second the commit's task acts on it (sends its next statement, or finishes) before
    the rendering goes on; with one, the rendering would always come first."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _plan_of(change: MeetingChanged) -> Plan:
    """What a change handed with its room sends: the regions its kinds touch, typed as its kind."""
    return Plan(parts_for(change.kinds), regions_for(change.kinds), change.kind)


def _key(client: Client, family_sees_all: bool) -> tuple[Audience, bool]:
    """Whose view a socket is sent: the family's is the professionals' when nothing in the room
    is for professionals only (:func:`server.meetings.state.family_sees_all`)."""
    shared = family_sees_all and client.audience is Audience.FAMILY
    return (Audience.PROFESSIONALS if shared else client.audience), client.wants_json
