"""What a change to a meeting tells the web processes: which meeting, which version, what kind
of change, and which regions of the room it touched. The state itself is re-read, never sent."""

from __future__ import annotations

import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

log = logging.getLogger("roundtable.live")


class Region(StrEnum):
    STATUS = "status"
    AGENDA = "agenda"
    FLOOR = "floor"
    QUEUE = "queue"
    PEOPLE = "people"
    BALANCE = "balance"
    DECISIONS = "decisions"
    ACTIONS = "actions"


ALL_REGIONS = frozenset(Region)


@dataclass(frozen=True, slots=True)
class MeetingChanged:
    meeting_id: uuid.UUID
    version: int
    type: str
    regions: frozenset[Region]

    def encode(self) -> bytes:
        return json.dumps(
            {"m": str(self.meeting_id), "v": self.version, "t": self.type, "r": sorted(self.regions)}
        ).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> MeetingChanged:
        data = json.loads(raw)
        return cls(uuid.UUID(data["m"]), int(data["v"]), str(data["t"]), frozenset(Region(r) for r in data["r"]))


def meeting_channel(meeting_id: uuid.UUID) -> str:
    return f"meeting:{meeting_id}"


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


class NoPublisher(Publisher):
    async def meeting_changed(self, change: MeetingChanged) -> None:
        return None

    async def access_changed(self) -> None:
        return None

    async def users_changed(self, user_ids: Iterable[uuid.UUID], kind: str) -> None:
        return None


def user_channel(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


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
