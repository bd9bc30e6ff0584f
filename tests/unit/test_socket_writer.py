"""One socket's sending: at once when its writer is idle and the socket takes the message without
waiting; otherwise in order, by the writer, whatever point a send had to wait at; a failed send
closes the socket (1011) and a socket too far behind is closed (1013)."""

from __future__ import annotations

import asyncio
import uuid

from server.live.clients import MAX_QUEUED_BYTES, OVERFLOW_CODE, Client
from server.meetings.state import Audience
from server.platform.tasks import Started


class Wire:
    """Stands for the socket's send: takes a message at once, or, while ``free`` is cleared, only
    once it is set again (as a socket whose buffer is full waits until it drains)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: list[int] = []
        self.cancelled = 0  # sends cancelled while they waited
        self.free = asyncio.Event()
        self.free.set()
        self.fail = False

    async def send(self, payload: str) -> None:
        try:
            await self.free.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail:
            raise ConnectionError("the socket has gone")
        self.sent.append(payload)

    async def close(self, code: int, reason: str) -> None:
        self.closed.append(code)


async def idle_client(wire: Wire) -> Client:
    client = Client(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), None, Audience.CHAIR, False, wire.send, wire.close)
    client.start()
    await asyncio.sleep(0)  # the writer starts, and waits for something to send
    return client


async def test_a_message_to_an_idle_socket_is_sent_before_offer_returns() -> None:
    wire = Wire()
    client = await idle_client(wire)
    client.offer("one")
    assert wire.sent == ["one"]  # no turn of the event loop in between
    client.offer("two")
    assert wire.sent == ["one", "two"]
    await client.stop()


async def test_a_send_that_has_to_wait_is_finished_by_the_writer_and_later_ones_follow_in_order() -> None:
    wire = Wire()
    client = await idle_client(wire)
    wire.free.clear()
    for payload in ("one", "two", "three"):
        client.offer(payload)
    await asyncio.sleep(0.01)
    assert wire.sent == []
    wire.free.set()
    await asyncio.sleep(0.01)
    assert wire.sent == ["one", "two", "three"]
    client.offer("four")
    assert wire.sent == ["one", "two", "three", "four"]
    await client.stop()


async def test_a_send_that_fails_at_once_or_after_waiting_closes_the_socket_with_1011() -> None:
    for wait_first in (False, True):
        wire = Wire()
        client = await idle_client(wire)
        wire.fail = True
        if wait_first:
            wire.free.clear()
        client.offer("one")
        wire.free.set()
        await asyncio.sleep(0.01)
        assert wire.closed == [1011], wait_first
        assert client.closed
        client.offer("two")
        assert wire.sent == []
        await client.stop()


async def test_a_socket_that_stops_taking_messages_is_closed_once_too_far_behind() -> None:
    wire = Wire()
    client = await idle_client(wire)
    wire.free.clear()
    payload = "x" * (MAX_QUEUED_BYTES // 4)
    for _ in range(6):
        client.offer(payload)
    await asyncio.sleep(0.01)
    assert wire.closed == [OVERFLOW_CODE]
    await client.stop()


async def test_stopping_a_socket_cancels_a_send_that_is_waiting() -> None:
    wire = Wire()
    client = await idle_client(wire)
    wire.free.clear()
    client.offer("one")
    await asyncio.sleep(0.01)
    await client.stop()
    wire.free.set()
    await asyncio.sleep(0.01)
    assert wire.sent == []
    assert wire.cancelled == 1  # the waiting send was cancelled, not left behind


async def test_a_begun_coroutine_finishes_under_the_task_that_awaits_it_with_its_result_and_errors() -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def two_steps() -> None:
        steps.append("first")
        steps.append(await gate)
        await asyncio.sleep(0)  # a bare yield, "again soon"
        steps.append("last")

    started = Started.begin(two_steps())
    assert started is not None
    assert steps == ["first"]
    finishing = asyncio.ensure_future(_finish(started))
    await asyncio.sleep(0)
    gate.set_result("gate opened")
    await finishing
    assert steps == ["first", "gate opened", "last"]

    async def at_once() -> None:
        steps.append("at once")

    assert Started.begin(at_once()) is None
    assert steps[-1] == "at once"

    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def waits_forever() -> None:
        try:
            await never
        except asyncio.CancelledError:
            steps.append("cancelled inside")
            raise

    waiting = Started.begin(waits_forever())
    assert waiting is not None
    task = asyncio.ensure_future(_finish(waiting))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert steps[-1] == "cancelled inside"


async def _finish(started: Started) -> None:
    await started
