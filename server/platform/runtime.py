"""What a running process holds: settings, the database engine, Redis, and the servers it started."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.people.session_cache import SessionCache
from server.platform.db import make_engine, make_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine = field(init=False)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    redis: Redis = field(init=False)
    session_cache: SessionCache = field(init=False)

    def __post_init__(self) -> None:
        self.session_cache = SessionCache(self.settings.session_cache_seconds)
        self.engine = make_engine(self.database_url)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.redis = Redis.from_url(self.redis_url, decode_responses=False)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()
