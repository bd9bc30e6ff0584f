"""When to try sending a message again after a failure: a pure rule."""

from __future__ import annotations

from datetime import timedelta

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


def next_retry_after(attempts: int) -> timedelta:
    """Exponential back-off, doubling from 30 s and capped at an hour, so an SMTP outage
    is retried often at first and never abandoned."""
    if attempts < 1:
        return timedelta(0)
    wait: timedelta = FIRST_RETRY * (2 ** min(attempts - 1, 16))
    return min(wait, LONGEST_WAIT)
