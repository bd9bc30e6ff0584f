"""Sign-in attempt limits per account and per address, counted in Redis so every process agrees."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from server.errors import TooManyAttempts


@dataclass(frozen=True, slots=True)
class Limit:
    attempts: int
    window_seconds: int


PER_ACCOUNT = Limit(attempts=5, window_seconds=15 * 60)
PER_ADDRESS = Limit(attempts=30, window_seconds=15 * 60)


async def check(redis: Redis, email: str, ip: str | None) -> None:
    """Refuse before any password work when either counter is spent."""
    for key, limit in _keys(email, ip):
        count = await redis.get(key)
        if count is not None and int(count) >= limit.attempts:
            ttl = await redis.ttl(key)
            raise TooManyAttempts(
                "Too many sign-in attempts. Wait a few minutes and try again.",
                retry_after=max(int(ttl), 1),
            )


async def count_failure(redis: Redis, email: str, ip: str | None) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        for key, limit in _keys(email, ip):
            pipe.incr(key)
            pipe.expire(key, limit.window_seconds, nx=True)
        await pipe.execute()


async def clear_account(redis: Redis, email: str) -> None:
    await redis.delete(f"signin:account:{email}")


def _keys(email: str, ip: str | None) -> list[tuple[str, Limit]]:
    keys = [(f"signin:account:{email}", PER_ACCOUNT)]
    if ip:
        keys.append((f"signin:address:{ip}", PER_ADDRESS))
    return keys
