"""Background loops that outlive a library swallowing their cancellation.

A loop that retries on ``Exception`` can miss its own cancellation: a client library's read
timeout that fires together with ``cancel()`` turns the CancelledError into a TimeoutError
(redis-py and asyncpg both wrap reads that way), the loop logs it as an outage and waits again,
and whoever awaits the cancelled task (shutdown, a meeting's last socket leaving) waits for
ever. Python keeps the request on the task, so each such loop asks after every pass."""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    """Raise CancelledError if the running task was asked to stop and the request got lost."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
