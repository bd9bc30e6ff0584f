"""The live hub of one web process: who is connected to which meeting, and fan-out.

A change is published on the meeting's channel after its commit (Redis pub/sub between
processes). Every process with participants of that meeting reads the room once, renders each
changed region once per audience (chair, professionals, family) and sends the same bytes to all
of that audience's sockets. Changes that arrive while a render is under way are merged into the
next one, and a gap in versions (a lost pub/sub message) makes the next render a whole-room one,
so a client can be behind for a moment but never wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from jinja2 import Environment
from litestar.channels import ChannelsPlugin, Subscriber
from redis.asyncio import Redis

from server.live.access import open_socket_access
from server.live.events import (
    ALL_REGIONS,
    CONTROL_CHANNEL,
    RECHECK,
    MeetingChanged,
    Publisher,
    Region,
    meeting_channel,
    user_channel,
)
from server.live.inbox import Inbox
from server.live.render import json_message, region_html
from server.meetings.state import Audience, RoomView, family_sees_all, load_room, view_for
from server.platform.db import transaction, utcnow
from server.platform.runtime import Runtime

log = logging.getLogger("roundtable.live")
SEND_TIMEOUT = 10.0
PRESENCE_TTL = 24 * 3600
RECHECK_EVERY = 30.0

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


@dataclass(eq=False)
class Client:
    """One open socket."""

    meeting_id: uuid.UUID
    case_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    audience: Audience
    wants_json: bool
    send: Send
    close: Close


@dataclass
class _Meeting:
    clients: set[Client] = field(default_factory=set)
    subscriber: Subscriber | None = None
    task: asyncio.Task[None] | None = None
    pending: set[Region] = field(default_factory=set)
    pending_types: set[str] = field(default_factory=set)
    fresh: set[Client] = field(default_factory=set)  # waiting for their first whole room
    known_version: int = 0
    clients_seen_version: bool = False  # a version has gone out: later ones can be compared
    json_version: int = 0  # the room version last sent to JSON clients by a broadcast
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def _by_audience(clients: Iterable[Client]) -> dict[tuple[Audience, bool], list[Client]]:
    groups: dict[tuple[Audience, bool], list[Client]] = defaultdict(list)
    for client in clients:
        groups[(client.audience, client.wants_json)].append(client)
    return groups


class LiveHub(Publisher):
    def __init__(self, runtime: Runtime, channels: ChannelsPlugin, templates: Environment) -> None:
        self.runtime = runtime
        self.channels = channels
        self.templates = templates
        self.meetings: dict[uuid.UUID, _Meeting] = {}
        self._control: Subscriber | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._recheck_task: asyncio.Task[None] | None = None
        self.inbox = Inbox(runtime, channels)

    # --- Publisher (called by services after a commit) -------------------------------------

    async def meeting_changed(self, change: MeetingChanged) -> None:
        await self._publish(change.encode(), meeting_channel(change.meeting_id))

    async def access_changed(self) -> None:
        self.runtime.session_cache.clear()  # this process at once; the others on RECHECK
        await self._publish(RECHECK, CONTROL_CHANNEL)

    async def users_changed(self, user_ids: Iterable[uuid.UUID], kind: str) -> None:
        payload = json.dumps({"kind": kind}).encode()
        for user_id in set(user_ids):
            await self._publish(payload, user_channel(user_id))

    async def _publish(self, data: bytes, channel: str) -> None:
        """Called after a commit: a change that is committed must never answer as an error
        because the notice could not go out (Redis down); the room catches up when it is back."""
        try:
            await self.channels.wait_published(data, channel)
        except Exception as error:
            log.warning("live: could not publish on %s: %s", channel, error)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._control = await self.channels.subscribe(CONTROL_CHANNEL)
        self._control_task = asyncio.create_task(self._control_loop(self._control), name="live-control")
        self._recheck_task = asyncio.create_task(self._recheck_loop(), name="live-recheck")

    async def stop(self) -> None:
        await self.inbox.close_all()
        for meeting_id in list(self.meetings):
            for client in list(self.meetings[meeting_id].clients):
                await self._safe_close(client, 1001, "The server is restarting.")
            await self._drop(meeting_id)
        for task in (self._control_task, self._recheck_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._control is not None:
            await self.channels.unsubscribe(self._control)

    # --- sockets --------------------------------------------------------------------------------

    async def connect(self, client: Client) -> None:
        """Register a socket and tell the room it is here. Its first message, the whole room, is
        sent by the meeting's own loop, in sequence with the changes: no change can fall between
        the whole room and the first update, and no update can arrive before the whole room."""
        meeting = self.meetings.get(client.meeting_id)
        if meeting is None:
            meeting = self.meetings[client.meeting_id] = _Meeting()
            meeting.subscriber = await self.channels.subscribe(meeting_channel(client.meeting_id))
            meeting.task = asyncio.create_task(self._meeting_loop(client.meeting_id, meeting), name="live-meeting")
        self._send_whole_room_soon(meeting, client)
        await self._presence(client, +1)

    async def disconnect(self, client: Client) -> None:
        meeting = self.meetings.get(client.meeting_id)
        if meeting is None or not (client in meeting.clients or client in meeting.fresh):
            return
        meeting.clients.discard(client)
        meeting.fresh.discard(client)
        await self._presence(client, -1)
        if not meeting.clients and not meeting.fresh:
            await self._drop(client.meeting_id)

    async def resend(self, client: Client) -> None:
        """A client that saw a gap asks for the whole room again."""
        meeting = self.meetings.get(client.meeting_id)
        if meeting is not None and client in meeting.clients:
            meeting.clients.discard(client)
            self._send_whole_room_soon(meeting, client)

    @staticmethod
    def _send_whole_room_soon(meeting: _Meeting, client: Client) -> None:
        meeting.fresh.add(client)
        meeting.wake.set()

    async def _drop(self, meeting_id: uuid.UUID) -> None:
        meeting = self.meetings.pop(meeting_id, None)
        if meeting is None:
            return
        if meeting.task is not None:
            meeting.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await meeting.task
        if meeting.subscriber is not None:
            await self.channels.unsubscribe(meeting.subscriber)

    async def _presence(self, client: Client, delta: int) -> None:
        """Who is connected, across every web process, kept in Redis; the room is told."""
        redis: Redis = self.runtime.redis
        key = f"presence:{client.meeting_id}"
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, str(client.user_id), delta)
            pipe.expire(key, PRESENCE_TTL)
            count, _ = await pipe.execute()
        if int(count) <= 0:
            await cast(Awaitable[int], redis.hdel(key, str(client.user_id)))
        if (delta > 0 and int(count) == 1) or (delta < 0 and int(count) <= 0):
            await self.channels.wait_published(
                MeetingChanged(client.meeting_id, 0, "presence", frozenset({Region.PEOPLE})).encode(),
                meeting_channel(client.meeting_id),
            )

    async def _connected(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        counts = await cast(Awaitable[dict[bytes, bytes]], self.runtime.redis.hgetall(f"presence:{meeting_id}"))
        return frozenset(uuid.UUID(k.decode()) for k, v in counts.items() if int(v) > 0)

    # --- fan-out --------------------------------------------------------------------------------

    async def _meeting_loop(self, meeting_id: uuid.UUID, meeting: _Meeting) -> None:
        assert meeting.subscriber is not None
        receiver = asyncio.create_task(self._receive(meeting, meeting.subscriber))
        try:
            while True:
                await meeting.wake.wait()
                meeting.wake.clear()
                regions, types = meeting.pending, meeting.pending_types
                meeting.pending, meeting.pending_types = set(), set()
                fresh, meeting.fresh = meeting.fresh, set()
                if regions or fresh:
                    try:
                        await self._broadcast(meeting_id, meeting, frozenset(regions), frozenset(types), fresh)
                    except Exception:
                        log.exception("live: broadcasting meeting %s failed", meeting_id)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver

    async def _receive(self, meeting: _Meeting, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            try:
                change = MeetingChanged.decode(raw)
            except (ValueError, KeyError):
                continue
            regions = set(change.regions)
            if change.version:
                if meeting.known_version and change.version > meeting.known_version + 1 and not meeting.pending:
                    regions = set(ALL_REGIONS)  # a message went missing: send the whole room
                meeting.known_version = max(meeting.known_version, change.version)
            meeting.pending |= regions
            meeting.pending_types.add(change.type)
            meeting.wake.set()

    async def _broadcast(
        self,
        meeting_id: uuid.UUID,
        meeting: _Meeting,
        regions: frozenset[Region],
        types: frozenset[str],
        fresh: set[Client],
    ) -> None:
        """Read the room once; render once per audience; send the same bytes to that audience.

        The room read may be ahead of the notices received (changes committed whose notices are
        still on the way): then every region is rendered and the JSON type is "change", and when
        those notices arrive their version has been sent already, so JSON clients are not sent
        the same version twice (browsers still get the regions the notices name)."""
        clients = list(meeting.clients)
        async with self.runtime.sessionmaker() as session:
            room = await load_room(session, meeting_id)
        connected = await self._connected(meeting_id)
        now = utcnow()
        version = room.meeting.version
        ahead = bool(meeting.known_version) and version > meeting.known_version
        meeting.known_version = max(meeting.known_version, version)
        newer = version > meeting.json_version
        json_due = newer or "presence" in types
        meeting.json_version = max(meeting.json_version, version)
        real = types - {"presence"}  # presence merged into a real change does not hide it
        if not real:  # only presence notices so far: a newer room means a change is on its way
            real = frozenset({"change"}) if newer and meeting.clients_seen_version else types
        kind = next(iter(real)) if len(real) == 1 and not ahead else "change"
        meeting.clients_seen_version = True
        if ahead:
            regions = ALL_REGIONS
        views: dict[Audience, RoomView] = {}
        family_as_professionals = family_sees_all(room)
        payloads: dict[tuple[Audience, bool, bool], str] = {}

        def view(audience: Audience) -> RoomView:
            if audience is Audience.FAMILY and family_as_professionals:
                audience = Audience.PROFESSIONALS  # nothing is hidden from the family: same view
            if audience not in views:
                views[audience] = view_for(room, audience, now, connected)
            return views[audience]

        def payload(audience: Audience, wants_json: bool, whole: bool) -> str:
            """Rendered once per distinct view, so the family and the professionals share bytes
            whenever they see the same (and the socket layer compresses them once)."""
            shown = view(audience)
            key = (shown.audience, wants_json, whole)
            if key not in payloads:
                if wants_json:
                    payloads[key] = json_message(shown, "state" if whole else kind)
                else:
                    payloads[key] = region_html(self.templates, shown, ALL_REGIONS if whole else regions)
            return payloads[key]

        sends: list[Awaitable[None]] = []
        for (audience, wants_json), group in _by_audience(fresh).items():
            whole = payload(audience, wants_json, whole=True)
            sends.extend(self._send(client, whole) for client in group)
        if regions:
            for (audience, wants_json), group in _by_audience(clients).items():
                if wants_json and not json_due:
                    continue
                change = payload(audience, wants_json, whole=False)
                sends.extend(self._send(client, change) for client in group)
        meeting.clients |= fresh
        await asyncio.gather(*sends)

    async def _send(self, client: Client, payload: str) -> None:
        try:
            # asyncio.timeout, not wait_for: wait_for (3.11) runs the send in a task of its own,
            # a second task per socket per change on top of gather's
            async with asyncio.timeout(SEND_TIMEOUT):
                await client.send(payload)
        except Exception:  # a dead or stuck socket: drop it, the browser reconnects
            await self._safe_close(client, 1011, "Could not deliver an update.")
            await self.disconnect(client)

    async def _safe_close(self, client: Client, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await client.close(code, reason)

    # --- access: sign-out, expiry and removal close sockets everywhere --------------------

    async def _control_loop(self, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            if raw == RECHECK:
                self.runtime.session_cache.clear()
                await self.recheck()

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_EVERY)
            try:
                await self.recheck()
            except Exception:
                log.exception("live: re-checking open sockets failed")

    async def recheck(self) -> None:
        """Close every socket whose session has ended or expired, or whose person has left the
        case's team. An open socket is activity: it keeps its session from going idle."""
        clients = [c for m in self.meetings.values() for c in m.clients]
        personal = self.inbox.clients()
        if not clients and not personal:
            return
        sessions = {c.session_id for c in clients if c.session_id is not None}
        sessions |= {c.session_id for c in personal if c.session_id is not None}
        async with self.runtime.sessionmaker() as session, transaction(session):
            allowed = await open_socket_access(
                session, self.runtime.settings, sessions, {(c.case_id, c.user_id) for c in clients}
            )
        for inbox_client in personal:
            if inbox_client.session_id is not None and inbox_client.session_id not in allowed.sessions:
                with contextlib.suppress(Exception):
                    await inbox_client.socket.close(code=4401, reason="Your session has ended.")
                await self.inbox.disconnect(inbox_client)
        for client in clients:
            if client.session_id is not None and client.session_id not in allowed.sessions:
                await self._safe_close(client, 4401, "Your session has ended. Sign in again.")
                await self.disconnect(client)
            elif (client.case_id, client.user_id) not in allowed.memberships:
                await self._safe_close(client, 4403, "You are no longer on this case's team.")
                await self.disconnect(client)
