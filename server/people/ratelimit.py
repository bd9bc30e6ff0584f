"""Sign-in attempt limits per account and per address, counted in Redis so every process agrees.

An attempt is counted *before* its password is checked, atomically: a check that only read the
counters would let twenty guesses sent at once all pass it before the first failure is counted.
A refused attempt (429) gives its count back at once; a successful one clears the account's
counter and gives back its count at the address; a failed one keeps it (`count_failure`). The
keys counted by `check` are remembered for the rest of the sign-in in a context variable, so the
callers' protocol (check, then count_failure or clear_account) is unchanged.

Without Redis the limit fails closed: no attempt is counted, so none is checked, and signing in
answers 503 with Retry-After until Redis is back (README.md, "When a server fails", says why).
People already signed in are not affected: their sessions are in PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass

from redis.asyncio import Redis

from server.errors import TooManyAttempts, Unavailable
from server.platform.runtime import REDIS_UNAVAILABLE, out_of_reach

log = logging.getLogger("roundtable.signin")


@dataclass(frozen=True, slots=True)
class Limit:
    attempts: int
    window_seconds: int


PER_ACCOUNT = Limit(attempts=5, window_seconds=15 * 60)
PER_ADDRESS = Limit(attempts=30, window_seconds=15 * 60)

# Keys this sign-in has counted in advance (set by check, settled by count_failure / clear_account).
_counted: ContextVar[tuple[str, ...]] = ContextVar("signin_counted", default=())

# Give one count back, never below zero and never creating a key whose window has gone.
_GIVE_BACK = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


SIGNIN_PAUSED = "Signing in is paused for a few seconds while part of Roundtable restarts. Please try again shortly."


async def check(redis: Redis, email: str, ip: str | None) -> None:
    """Count this attempt, and refuse it before any password work when a counter is spent;
    refuse it too (503) when the attempt cannot be counted."""
    try:
        await _check(redis, email, ip)
    except REDIS_UNAVAILABLE as error:
        _counted.set(())
        log.warning("sign-in refused: the attempt limit cannot be checked without Redis (%s)", error)
        raise Unavailable(SIGNIN_PAUSED, code="signin_unavailable") from None


async def _check(redis: Redis, email: str, ip: str | None) -> None:
    keys = _keys(email, ip)
    async with redis.pipeline(transaction=True) as pipe:
        for key, limit in keys:
            pipe.incr(key)
            pipe.expire(key, limit.window_seconds, nx=True)
        results = await pipe.execute()
    counts = [int(count) for count in results[0::2]]
    spent = [key for (key, limit), count in zip(keys, counts, strict=True) if count > limit.attempts]
    if spent:
        for key, _ in keys:
            await _give_back(redis, key)
        _counted.set(())
        ttl = await redis.ttl(spent[0])
        raise TooManyAttempts(
            "Too many sign-in attempts. Wait a few minutes and try again.",
            retry_after=max(int(ttl), 1),
        )
    _counted.set(tuple(key for key, _ in keys))


async def count_failure(redis: Redis, email: str, ip: str | None) -> None:
    """A failed attempt stays counted (counting it now if `check` did not)."""
    counted = _counted.get()
    _counted.set(())
    async with redis.pipeline(transaction=True) as pipe:
        for key, limit in _keys(email, ip):
            if key not in counted:
                pipe.incr(key)
                pipe.expire(key, limit.window_seconds, nx=True)
        await pipe.execute()


async def clear_account(redis: Redis, email: str) -> None:
    """A successful sign-in: the account starts afresh, and the address gets its count back."""
    account = f"signin:account:{email}"
    counted = _counted.get()
    _counted.set(())
    try:
        await redis.delete(account)
        for key in counted:
            if key != account:
                await _give_back(redis, key)
    except REDIS_UNAVAILABLE as error:  # the sign-in stands; its counts stay, which only errs on the safe side
        log.warning("sign-in: could not give back the attempt counts (%s)", error)


@contextlib.asynccontextmanager
async def given_back_on_outage(redis: Redis) -> AsyncIterator[None]:
    """Around the password check: when the database is out of reach the attempt gets no answer
    but a 503, so it is not held against the person, who tries again once it is back. (Only an
    outage, which no caller can cause, gives counts back; every other failure keeps them.)"""
    try:
        yield
    except Exception as error:
        if out_of_reach(error) == "database":
            counted = _counted.get()
            _counted.set(())
            with contextlib.suppress(*REDIS_UNAVAILABLE):
                for key in counted:
                    await _give_back(redis, key)
        raise


async def _give_back(redis: Redis, key: str) -> None:
    await redis.eval(_GIVE_BACK, 1, key)  # type: ignore[misc]


def _keys(email: str, ip: str | None) -> list[tuple[str, Limit]]:
    keys = [(f"signin:account:{email}", PER_ACCOUNT)]
    if ip:
        keys.append((f"signin:address:{ip}", PER_ADDRESS))
    return keys
