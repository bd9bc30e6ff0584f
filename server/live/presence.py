"""Who is connected to a meeting now, across every web process, kept in Redis.

Each web process keeps, for every meeting it serves, an entry ``<user>|<process>`` in the
meeting's sorted set, scored with the time it expires, and renews its entries three times per
lifetime (ROUNDTABLE_PRESENCE_SECONDS, 45 by default). A process that crashes stops renewing, so
its people drop out within that time; entries are memberships, not counters, so connecting and
disconnecting can never drift out of balance. Reading skips expired entries."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping

from redis.asyncio import Redis

log = logging.getLogger("roundtable.live")


def _key(meeting_id: uuid.UUID) -> str:
    return f"presence:{meeting_id}"


def _member(user_id: uuid.UUID, process: str) -> str:
    return f"{user_id}|{process}"


def renew_every(lifetime: float) -> float:
    return lifetime / 3


async def mark(redis: Redis, process: str, present: Mapping[uuid.UUID, Iterable[uuid.UUID]], lifetime: float) -> None:
    """Record (or renew) this process's people in each meeting, for ``lifetime`` seconds."""
    expires = time.time() + lifetime
    async with redis.pipeline(transaction=False) as pipe:
        for meeting_id, users in present.items():
            entries = {_member(u, process): expires for u in users}
            if entries:
                pipe.zadd(_key(meeting_id), entries)
                pipe.expire(_key(meeting_id), int(lifetime * 2) + 1)
        await pipe.execute()


async def unmark(redis: Redis, process: str, meeting_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await redis.zrem(_key(meeting_id), _member(user_id, process))


async def connected(redis: Redis, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The people with a live entry (Redis errors are the caller's to judge)."""
    members = await redis.zrangebyscore(_key(meeting_id), time.time(), "+inf")
    return frozenset(uuid.UUID(m.decode().split("|", 1)[0]) for m in members)


async def connected_or_nobody(redis: Redis, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """For answers that must not fail with Redis away: nobody is shown connected then."""
    try:
        return await connected(redis, meeting_id)
    except Exception as error:
        log.warning("live: could not read presence for %s: %s", meeting_id, error)
        return frozenset()
