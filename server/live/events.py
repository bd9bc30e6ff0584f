"""What web processes tell each other: a meeting changed (which one, to which version, by what
kind of change), or who is connected to it changed. The state itself is re-read, never sent."""

from __future__ import annotations

import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from server.live import presence
from server.meetings.changes import ChangeKind

if TYPE_CHECKING:
    from server.live.feed import Rendered
    from server.meetings.state import Room

log = logging.getLogger("roundtable.live")


@dataclass(frozen=True, slots=True)
class MeetingChanged:
    """A committed change: the meeting is now at ``version``. Within the process that made it,
    it may carry the room at that version, read inside the change's own transaction
    (server/live/ahead.py); that never goes on the wire: other processes read the room."""

    meeting_id: uuid.UUID
    version: int
    kind: ChangeKind
    also: frozenset[ChangeKind] = frozenset()  # what else this one change did (declared by its command)
    room: Room | None = field(default=None, compare=False, repr=False)
    rendered: Rendered | None = field(default=None, compare=False, repr=False)  # what the feed will send

    @property
    def kinds(self) -> frozenset[ChangeKind]:
        return self.also | {self.kind}

    def encode(self) -> bytes:
        return json.dumps(
            {"m": str(self.meeting_id), "v": self.version, "k": self.kind, "a": sorted(self.also)}
        ).encode()


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """Someone's first socket to the meeting opened, or their last one closed: no version."""

    meeting_id: uuid.UUID

    def encode(self) -> bytes:
        return json.dumps({"m": str(self.meeting_id), "p": 1}).encode()


Notice = MeetingChanged | PresenceChanged


def decode_notice(raw: bytes | str) -> Notice:
    """A notice from the wire; ValueError (or KeyError) when it is not one of ours."""
    data = json.loads(raw)
    meeting_id = uuid.UUID(data["m"])
    if "p" in data:
        return PresenceChanged(meeting_id)
    also = frozenset(ChangeKind(k) for k in data.get("a", ()))
    return MeetingChanged(meeting_id, int(data["v"]), ChangeKind(data["k"]), also)


def meeting_channel(meeting_id: uuid.UUID) -> str:
    return f"meeting:{meeting_id}"


def user_channel(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


CONTROL_CHANNEL = "control"
RECHECK = b"recheck"


class Publisher(ABC):
    """Told after a commit; implemented by the live hub (and by a no-op where nobody listens)."""

    @abstractmethod
    async def meeting_changed(self, change: MeetingChanged) -> None: ...

    @abstractmethod
    async def access_changed(self) -> None:
        """Someone signed out, changed their password or left a team: every web process
        re-checks its open sockets against the database and closes what is no longer allowed."""

    @abstractmethod
    async def users_changed(self, user_ids: Iterable[uuid.UUID], kind: str) -> None:
        """Something for these people changed (a notification, an action of theirs, their
        case's plan): their open pages are told to refresh that part."""

    @abstractmethod
    async def connected(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """Who has the meeting's room open now, across every web process."""

    def room_now(self, meeting_id: uuid.UUID) -> Room | None:
        """The room this process's live feed of the meeting holds now, if it has one."""
        return None

    async def render_ahead(self, change: MeetingChanged) -> MeetingChanged:
        """The change with what this process's sockets will be sent, rendered from the room it
        carries, while its commit is under way (CPU, with a turn of the event loop between
        payloads; never fails). Unchanged without one."""
        return change


class NoPublisher(Publisher):
    async def meeting_changed(self, change: MeetingChanged) -> None:
        return None

    async def access_changed(self) -> None:
        return None

    async def users_changed(self, user_ids: Iterable[uuid.UUID], kind: str) -> None:
        return None

    async def connected(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return frozenset()


class RedisPublisher(Publisher):
    """Publishing from a process without the live hub (the worker): plain Redis PUBLISH on the
    same channels the hubs subscribe to."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def _publish(self, channel: str, data: bytes) -> None:
        """After a commit: a broker outage is logged, never turned into the change's failure."""
        try:
            await self.redis.publish(channel, data)
        except Exception as error:
            log.warning("live: could not publish on %s: %s", channel, error)

    async def meeting_changed(self, change: MeetingChanged) -> None:
        await self._publish(meeting_channel(change.meeting_id), change.encode())

    async def access_changed(self) -> None:
        await self._publish(CONTROL_CHANNEL, RECHECK)

    async def users_changed(self, user_ids: Iterable[uuid.UUID], kind: str) -> None:
        payload = json.dumps({"kind": kind}).encode()
        for user_id in set(user_ids):
            await self._publish(user_channel(user_id), payload)

    async def connected(self, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
        return await presence.connected_or_nobody(self.redis, meeting_id)
