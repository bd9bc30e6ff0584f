"""One open meeting socket, with a bounded queue of messages and a writer of its own.

Fan-out never waits: a participant whose laptop went to sleep, or whose network stalled, fills
their own queue and nobody else waits for them. Past :data:`MAX_QUEUED_BYTES` the socket
is closed with 1013 (try again later): the browser reconnects by itself and gets the whole room,
and the server's memory stays flat however long the stall lasts.

Thousands of these sit idle most of the time, so each is kept small: a plain list for the queue
(rarely more than one message long) and a future made only while the writer waits, instead of a
deque and an event that allocate their blocks up front, and the writer holds no message once it
is sent (the same bytes go to every socket of an audience; one kept per socket is a room's
worth of HTML for every meeting).

A socket whose writer is idle is sent to at once, in the feed's own step, instead of waking the
writer: a send that the socket takes without waiting finishes in that one step (almost always),
which saves a task switch and a timer per socket on every change's path. A send that has to wait
(the socket's buffer is full) is handed, as it stands, to the writer to finish (:class:`Started`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from server.meetings.state import Audience
from server.platform.tasks import Started

log = logging.getLogger("roundtable.live")

MAX_QUEUED_BYTES = 1 << 20  # about twenty whole rooms
SEND_TIMEOUT = 10.0
OVERFLOW_CODE = 1013  # "try again later": the browser's websocket extension reconnects on it

Send = Callable[[str], Coroutine[Any, Any, None]]
Close = Callable[[int, str], Awaitable[None]]


@dataclass(eq=False, slots=True)
class Client:
    """One open socket. ``offer`` never waits; messages go out in the order offered."""

    meeting_id: uuid.UUID
    case_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    audience: Audience
    wants_json: bool
    send: Send
    close: Close
    on_gone: Callable[[Client], Awaitable[None]] | None = None
    _queue: list[str] = field(default_factory=list)
    _queued: int = 0
    _waiting: asyncio.Future[None] | None = None  # the idle writer waits on it
    _started: Started | None = None  # a send begun in offer() that has to wait: the writer's to finish
    _writer: asyncio.Task[None] | None = None
    closed: bool = False

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="live-writer")

    def offer(self, payload: str) -> None:
        """Queue a message; a socket that has fallen too far behind is closed instead."""
        if self.closed:
            return
        if self._queue and self._queued + len(payload) > MAX_QUEUED_BYTES:
            log.info("live: closing a socket %d bytes behind", self._queued)
            self._drop(OVERFLOW_CODE, "Too far behind; reconnect for the whole room.")
            return
        idle = self._waiting is not None and not self._waiting.done()
        if idle and not self._queue and self._started is None:
            self._send_now(payload)
            return
        self._queue.append(payload)
        self._queued += len(payload)
        if idle:
            self._wake_writer()

    def _send_now(self, payload: str) -> None:
        """Run the send's first step here; if it has to wait, the writer finishes it."""
        try:
            self._started = Started.begin(self.send(payload))
        except Exception:
            self._drop(1011, "Could not deliver an update.")
            return
        if self._started is not None:
            self._wake_writer()

    def _wake_writer(self) -> None:
        assert self._waiting is not None
        self._waiting.set_result(None)

    async def _write(self) -> None:
        while True:
            while not self._queue and self._started is None:
                self._waiting = asyncio.get_running_loop().create_future()
                await self._waiting
                self._waiting = None
            if not await self._send_next():
                self._drop(1011, "Could not deliver an update.")
                return

    async def _send_next(self) -> bool:
        """Finish the send begun in :meth:`offer`, or send the oldest message; False for a dead
        or stuck socket (the browser reconnects)."""
        sending: Awaitable[None] | None
        sending, self._started = self._started, None
        if sending is None:
            payload = self._queue.pop(0)
            self._queued -= len(payload)
            sending = self.send(payload)
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await sending
        except Exception:
            return False
        return True

    def _drop(self, code: int, reason: str) -> None:
        """Close without waiting (this may run inside the writer itself)."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued = 0
        asyncio.get_running_loop().create_task(self._close_now(code, reason))

    async def _close_now(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.close(code, reason)
        if self.on_gone is not None:
            await self.on_gone(self)

    async def stop(self, code: int | None = None, reason: str = "") -> None:
        """Stop the writer (the socket has gone, or is being closed by the server)."""
        self.closed = True
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if code is not None:
            with contextlib.suppress(Exception):
                await self.close(code, reason)
