"""Redis pub/sub for Litestar's channels that survives Redis going away.

Litestar's own Redis backend ends its listening task on the first connection error, and every
socket of the process then stays on the version it had. This backend keeps the channels it was
asked for, and when Redis fails it waits (backing off to :data:`MAX_BACKOFF`), connects again,
subscribes to all of them again and carries on. It tells its listener when it loses and regains
Redis, so the live hub can show the degraded-connection banner and, once back, bring every
meeting it serves up to date (notices published meanwhile were lost)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Iterable

from litestar.channels.backends.base import ChannelsBackend
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.platform.tasks import stop_if_cancelled

log = logging.getLogger("roundtable.live")

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 2.0
POLL = 1.0  # how long one wait for a message lasts before the loop looks again


class ResilientRedisBackend(ChannelsBackend):
    def __init__(self, redis: Redis, key_prefix: str = "roundtable") -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._wanted: set[str] = set()
        self._pubsub: PubSub | None = None
        self._has_channels = asyncio.Event()
        self.up = True
        self.listeners: list[Callable[[bool], None]] = []

    def _key(self, channel: str) -> str:
        return f"{self._prefix}_{channel.upper()}"

    async def on_startup(self) -> None:
        return None

    async def on_shutdown(self) -> None:
        await self._close()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in set(channels):
                pipe.publish(self._key(channel), data)
            await pipe.execute()

    async def subscribe(self, channels: Iterable[str]) -> None:
        """Remembered at once; sent to Redis when it is there (else when it is back)."""
        new = set(channels) - self._wanted
        self._wanted |= new
        self._has_channels.set()
        if new and self._pubsub is not None and self.up:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.subscribe(*(self._key(c) for c in new))

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = set(channels) & self._wanted
        self._wanted -= gone
        if gone and self._pubsub is not None and self.up:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(*(self._key(c) for c in gone))

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError("pub/sub keeps no history")

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        backoff = FIRST_BACKOFF
        by_key: dict[str, str] = {}
        while True:
            await self._has_channels.wait()
            try:
                if self._pubsub is None:
                    await self._connect()
                    backoff = FIRST_BACKOFF
                assert self._pubsub is not None
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL)
            except (RedisError, OSError) as error:
                stop_if_cancelled()
                await self._lost(error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if message is None:
                continue
            key = message["channel"].decode()
            if key not in by_key:
                by_key = {self._key(c): c for c in self._wanted}
            channel = by_key.get(key)
            if channel is not None and channel in self._wanted:
                yield channel, message["data"]

    async def _connect(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            if self._wanted:
                await pubsub.subscribe(*(self._key(c) for c in self._wanted))
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._pubsub = pubsub
        if not self.up:
            log.warning("live: Redis is back; subscribed again to %d channels", len(self._wanted))
            self._tell(True)

    async def _lost(self, error: BaseException) -> None:
        await self._close()
        if self.up:
            log.warning("live: lost Redis (%s); retrying", error)
            self._tell(False)

    def _tell(self, up: bool) -> None:
        self.up = up
        for listener in self.listeners:
            listener(up)

    async def _close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
