"""What a change to a meeting tells the web processes: which meeting, which version, what kind
of change, and which regions of the room it touched. The state itself is re-read, never sent."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from abc import ABC, abstractmethod


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


class Publisher(ABC):
    """Told after a commit; implemented by the live hub (and by a no-op where nobody listens)."""

    @abstractmethod
    async def meeting_changed(self, change: MeetingChanged) -> None: ...

    @abstractmethod
    async def session_ended(self, session_id: uuid.UUID) -> None: ...

    @abstractmethod
    async def member_removed(self, case_id: uuid.UUID, user_id: uuid.UUID) -> None: ...


class NoPublisher(Publisher):
    async def meeting_changed(self, change: MeetingChanged) -> None:
        return None

    async def session_ended(self, session_id: uuid.UUID) -> None:
        return None

    async def member_removed(self, case_id: uuid.UUID, user_id: uuid.UUID) -> None:
        return None
