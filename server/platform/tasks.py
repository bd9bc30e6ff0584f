"""Helpers for tasks: background loops that outlive a library swallowing their cancellation, and
a coroutine begun outside any task (:class:`Started`).

A loop that retries on ``Exception`` can miss its own cancellation: a client library's read
timeout that fires together with ``cancel()`` turns the CancelledError into a TimeoutError
(redis-py and asyncpg both wrap reads that way), the loop logs it as an outage and waits again,
and whoever awaits the cancelled task (shutdown, a meeting's last socket leaving) waits for
ever. Python keeps the request on the task, so each such loop asks after every pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from functools import partial
from typing import Any


def stop_if_cancelled() -> None:
    """Raise CancelledError if the running task was asked to stop and the request got lost."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Started:
    """A coroutine begun by hand (its first step run outside any task) that is waiting on
    something: awaiting this finishes it under the awaiting task, exactly as if that task had
    begun it (what Python 3.12's eager tasks do, for one coroutine, without a task of its own)."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on  # what its last step yielded: a future, or None for "again soon"

    @classmethod
    def begin(cls, coroutine: Coroutine[Any, Any, None]) -> Started | None:
        """Run the first step; None if that finished it, else what is left. Raises what it raises."""
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return None
        return cls(coroutine, waiting_on)

    def __await__(self) -> Generator[Any, None, None]:
        while True:
            try:
                yield self.waiting_on  # the task waits on it, as the coroutine asked, then resumes us
            except BaseException as error:  # cancelled, or a timeout, while it waits: it is the coroutine's
                step: Callable[[], Any] = partial(self.coroutine.throw, error)
            else:
                step = partial(self.coroutine.send, None)
            try:
                self.waiting_on = step()
            except StopIteration:
                return
