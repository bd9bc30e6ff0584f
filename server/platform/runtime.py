"""What a running process holds: settings, the database engine, Redis, and the servers it started."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.people.session_cache import SessionCache
from server.platform.db import database_unavailable, make_engine, make_sessionmaker

REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
"""What a Redis client raises when the server is gone, restarting or not answering."""


def out_of_reach(error: BaseException) -> Literal["redis", "database"] | None:
    """Which server an error says is out of reach for now, if any. Redis is asked first: its
    errors wrap the same OSError that a refused database connection is."""
    if isinstance(error, REDIS_UNAVAILABLE):
        return "redis"
    if database_unavailable(error):
        return "database"
    return None


REDIS_TIMEOUT = 5.0  # seconds: Redis answers in well under a millisecond, unless it is gone


def redis_options(timeout: float = REDIS_TIMEOUT) -> dict[str, Any]:
    """Fail fast: a Redis that refuses costs a caller nothing, one that accepts and then says
    nothing ``timeout`` seconds, and never a hang. (Not much less: a busy process may not read
    an answer for a second or two.) One immediate retry on a fresh connection (connection errors
    only, never a timeout) absorbs the pooled connections that a restart left dead, so the first
    call after Redis is back succeeds."""
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
        "retry_on_error": [RedisConnectionError],
    }


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine = field(init=False)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    redis: Redis = field(init=False)
    session_cache: SessionCache = field(init=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.session_cache = SessionCache(self.settings.session_cache_seconds)
        self.engine = make_engine(self.database_url)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.redis = Redis.from_url(self.redis_url, decode_responses=False, **redis_options())

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` off the caller's path; it is kept referenced until done, and cancelled on
        close. It handles its own errors."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.redis.aclose()
        await self.engine.dispose()
