"""One open meeting socket, with a bounded queue of messages and a writer of its own.

Fan-out only ever queues: a participant whose laptop went to sleep, or whose network stalled,
fills their own queue and nobody else waits for them. Past :data:`MAX_QUEUED_BYTES` the socket
is closed with 1013 (try again later): the browser reconnects by itself and gets the whole room,
and the server's memory stays flat however long the stall lasts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from server.meetings.state import Audience

log = logging.getLogger("roundtable.live")

MAX_QUEUED_BYTES = 1 << 20  # about twenty whole rooms
SEND_TIMEOUT = 10.0
OVERFLOW_CODE = 1013  # "try again later": the browser's websocket extension reconnects on it

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


@dataclass(eq=False)
class Client:
    """One open socket. ``offer`` never waits; the writer task sends in order."""

    meeting_id: uuid.UUID
    case_id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    audience: Audience
    wants_json: bool
    send: Send
    close: Close
    on_gone: Callable[[Client], Awaitable[None]] | None = None
    _queue: deque[str] = field(default_factory=deque)
    _queued: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
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
        self._queue.append(payload)
        self._queued += len(payload)
        self._wake.set()

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                payload = self._queue.popleft()
                self._queued -= len(payload)
                try:
                    async with asyncio.timeout(SEND_TIMEOUT):
                        await self.send(payload)
                except Exception:  # a dead or stuck socket: drop it, the browser reconnects
                    self._drop(1011, "Could not deliver an update.")
                    return

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
