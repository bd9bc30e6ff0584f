"""The live hub of one web process: which meetings it serves, their feeds, presence, and keeping
open sockets allowed.

A committed change is handed to the meeting's feed in this process at once and published on the
meeting's channel for the other processes (Redis pub/sub through Litestar's channels, with the
backend in server/live/broker.py that survives Redis restarts). Each feed turns notices into
messages (server/live/feed.py). The hub's upkeep renews presence, notices people whose process
died, and checks every couple of seconds that no feed is behind its meeting (a notice lost while
Redis was away), so every socket is on the latest version within seconds of any fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterable

from jinja2 import Environment
from litestar.channels import ChannelsPlugin, Subscriber
from sqlalchemy import select

from server.live import presence
from server.live.access import open_socket_access
from server.live.broker import ResilientRedisBackend
from server.live.clients import Client
from server.live.events import (
    CONTROL_CHANNEL,
    RECHECK,
    MeetingChanged,
    PresenceChanged,
    Publisher,
    decode_notice,
    meeting_channel,
    user_channel,
)
from server.live.feed import FeedContext, MeetingFeed
from server.live.inbox import Inbox
from server.meetings.models import Meeting
from server.meetings.state import Room
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.platform.tasks import stop_if_cancelled

log = logging.getLogger("roundtable.live")
RECHECK_EVERY = 30.0
SWEEP_EVERY = 2.0


class LiveHub(Publisher):
    def __init__(
        self,
        runtime: Runtime,
        channels: ChannelsPlugin,
        templates: Environment,
        broker: ResilientRedisBackend | None = None,
    ) -> None:
        self.runtime = runtime
        self.channels = channels
        self.process = uuid.uuid4().hex[:12]
        self.presence_lifetime = float(runtime.settings.presence_seconds)
        self.feeds: dict[uuid.UUID, MeetingFeed] = {}
        self._listeners: dict[uuid.UUID, tuple[Subscriber, asyncio.Task[None]]] = {}
        self._here: dict[uuid.UUID, Counter[uuid.UUID]] = {}  # per meeting: sockets per person
        self._tasks: list[asyncio.Task[None]] = []
        self._control: Subscriber | None = None
        self._behind: dict[uuid.UUID, int] = {}
        self.context = FeedContext(runtime.sessionmaker, templates, self._connected)
        self.inbox = Inbox(runtime, channels)
        if broker is not None:
            broker.listeners.append(self._broker_state)

    # --- Publisher (called by services after a commit) -------------------------------------

    async def meeting_changed(self, change: MeetingChanged) -> None:
        feed = self.feeds.get(change.meeting_id)
        if feed is not None:
            feed.hear(change)  # this process's sockets need not wait for the round trip
            await asyncio.sleep(0)  # and the feed sends what it was handed before Redis is told
        await self._publish(change.encode(), meeting_channel(change.meeting_id))

    async def access_changed(self) -> None:
        self.runtime.session_cache.clear()  # this process at once; the others on RECHECK
        await self._publish(RECHECK, CONTROL_CHANNEL)

    async def users_changed(self, user_ids: Iterable[uuid.UUID], kind: str) -> None:
        payload = json.dumps({"kind": kind}).encode()
        for user_id in set(user_ids):
            await self._publish(payload, user_channel(user_id))

    async def connected(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return await presence.connected_or_nobody(self.runtime.redis, meeting_id)

    def room_now(self, meeting_id: uuid.UUID) -> Room | None:
        feed = self.feeds.get(meeting_id)
        return None if feed is None else feed.room

    async def render_ahead(self, change: MeetingChanged) -> MeetingChanged:
        feed = self.feeds.get(change.meeting_id)
        return change if feed is None else await feed.render_ahead(change)

    async def _connected(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return await presence.connected(self.runtime.redis, meeting_id)

    async def _publish(self, data: bytes, channel: str) -> None:
        """Called after a commit: a change that is committed must never answer as an error
        because the notice could not go out (Redis down); the others catch up when it is back."""
        try:
            await self.channels.wait_published(data, channel)
        except Exception as error:
            log.warning("live: could not publish on %s: %s", channel, error)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._control = await self.channels.subscribe(CONTROL_CHANNEL)
        self._tasks = [
            asyncio.create_task(self._control_loop(self._control), name="live-control"),
            asyncio.create_task(self._recheck_loop(), name="live-recheck"),
            asyncio.create_task(self._presence_loop(), name="live-presence"),
            asyncio.create_task(self._sweep_loop(), name="live-sweep"),
        ]

    async def stop(self) -> None:
        await self.inbox.close_all()
        for meeting_id, feed in list(self.feeds.items()):
            for client in list(feed.clients | feed.fresh):
                await client.stop(1012, "The server is restarting.")
                await self.disconnect(client)
            await self._drop(meeting_id)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._control is not None:
            await self.channels.unsubscribe(self._control)

    # --- sockets --------------------------------------------------------------------------------

    async def connect(self, client: Client) -> None:
        """Register a socket. Its first message, the whole room, is sent by the meeting's feed,
        in sequence with the changes: none can fall between, none can come before it."""
        feed = self.feeds.get(client.meeting_id)
        if feed is None:
            feed = self.feeds[client.meeting_id] = MeetingFeed(client.meeting_id, self.context)
            feed.start()
            subscriber = await self.channels.subscribe(meeting_channel(client.meeting_id))
            listener = asyncio.create_task(self._listen(feed, subscriber), name="live-listen")
            self._listeners[client.meeting_id] = (subscriber, listener)
        client.on_gone = self.disconnect
        client.start()
        feed.add(client)
        here = self._here.setdefault(client.meeting_id, Counter())
        here[client.user_id] += 1
        if here[client.user_id] == 1:
            await self._presence(client.meeting_id, client.user_id, arrived=True)

    async def disconnect(self, client: Client) -> None:
        feed = self.feeds.get(client.meeting_id)
        if feed is None or not (client in feed.clients or client in feed.fresh):
            return
        feed.discard(client)
        await client.stop()
        here = self._here.get(client.meeting_id, Counter())
        here[client.user_id] -= 1
        if here[client.user_id] <= 0:
            del here[client.user_id]
            await self._presence(client.meeting_id, client.user_id, arrived=False)
        if feed.empty:
            await self._drop(client.meeting_id)

    async def resend(self, client: Client) -> None:
        """A client that thinks it missed something asks for the whole room again."""
        feed = self.feeds.get(client.meeting_id)
        if feed is not None and client in feed.clients:
            feed.clients.discard(client)
            feed.add(client)

    async def _drop(self, meeting_id: uuid.UUID) -> None:
        feed = self.feeds.pop(meeting_id, None)
        self._here.pop(meeting_id, None)
        if feed is not None and feed.task is not None:
            feed.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed.task
        found = self._listeners.pop(meeting_id, None)
        if found is not None:
            subscriber, listener = found
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self.channels.unsubscribe(subscriber)

    async def _listen(self, feed: MeetingFeed, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            try:
                notice = decode_notice(raw)
            except (ValueError, KeyError):
                continue
            if isinstance(notice, PresenceChanged):
                feed.presence_changed()
            else:
                feed.hear(notice)

    # --- presence -------------------------------------------------------------------------------

    async def _presence(self, meeting_id: uuid.UUID, user_id: uuid.UUID, *, arrived: bool) -> None:
        """Someone's first socket opened or last one closed here: record it, tell the room."""
        redis = self.runtime.redis
        try:
            if arrived:
                await presence.mark(redis, self.process, {meeting_id: [user_id]}, self.presence_lifetime)
            else:
                await presence.unmark(redis, self.process, meeting_id, user_id)
        except Exception as error:
            log.warning("live: could not record presence: %s", error)
        feed = self.feeds.get(meeting_id)
        if feed is not None:
            feed.presence_changed()
        await self._publish(PresenceChanged(meeting_id).encode(), meeting_channel(meeting_id))

    async def _presence_loop(self) -> None:
        """Renew this process's entries, and notice when someone else's expired (a crash)."""
        while True:
            await asyncio.sleep(presence.renew_every(self.presence_lifetime))
            await self._mark_all()
            for meeting_id, feed in list(self.feeds.items()):
                try:
                    if await self._connected(meeting_id) != feed.connected:
                        feed.presence_changed()
                except Exception as error:
                    log.warning("live: could not read presence: %s", error)
                    break
            stop_if_cancelled()

    def _broker_state(self, up: bool) -> None:
        """Redis lost or back: say so in the rooms; once back, bring every meeting up to date."""
        for feed in self.feeds.values():
            feed.set_degraded(not up)
            if up:
                feed.resync()
                feed.presence_changed()
        if up:
            # A sign-out or a removal from the team while Redis was away was never heard here.
            self.runtime.session_cache.clear()
            self.runtime.in_background(self._mark_all())
            self.runtime.in_background(self._recheck_quietly())

    async def _mark_all(self) -> None:
        try:
            await presence.mark(
                self.runtime.redis, self.process, {m: list(c) for m, c in self._here.items()}, self.presence_lifetime
            )
        except Exception as error:
            log.warning("live: could not renew presence: %s", error)

    async def _sweep_loop(self) -> None:
        """A feed behind its meeting for two sweeps running lost a notice: read it all again."""
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            if not self.feeds:
                continue
            try:
                async with self.runtime.sessionmaker() as session:
                    rows = (
                        await session.execute(
                            select(Meeting.id, Meeting.version).where(Meeting.id.in_(list(self.feeds)))
                        )
                    ).all()
            except Exception as error:
                stop_if_cancelled()
                log.warning("live: could not check meeting versions: %s", error)
                continue
            behind = {}
            for meeting_id, version in rows:
                feed = self.feeds.get(meeting_id)
                if feed is None or feed.room is None or version <= feed.room.version:
                    continue
                if self._behind.get(meeting_id) == feed.room.version:
                    feed.resync()
                behind[meeting_id] = feed.room.version
            self._behind = behind

    # --- access: sign-out, expiry and removal close sockets everywhere --------------------

    async def _control_loop(self, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            if raw == RECHECK:
                self.runtime.session_cache.clear()
                await self._recheck_quietly()

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_EVERY)
            await self._recheck_quietly()
            stop_if_cancelled()

    async def _recheck_quietly(self) -> None:
        try:
            await self.recheck()
        except Exception:
            log.exception("live: re-checking open sockets failed")

    async def recheck(self) -> None:
        """Close every socket whose session has ended or expired, or whose person has left the
        case's team. An open socket is activity: it keeps its session from going idle."""
        clients = [c for feed in self.feeds.values() for c in (*feed.clients, *feed.fresh)]
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
                await client.stop(4401, "Your session has ended. Sign in again.")
                await self.disconnect(client)
            elif (client.case_id, client.user_id) not in allowed.memberships:
                await client.stop(4403, "You are no longer on this case's team.")
                await self.disconnect(client)
