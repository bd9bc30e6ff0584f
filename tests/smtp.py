"""A real SMTP server on loopback for tests (aiosmtpd), and a reader for the chase's digests.

:class:`SmtpSink` listens on a fixed free port of 127.0.0.1 in a thread of its own (aiosmtpd's
Controller), and keeps every message it accepts. It can be stopped and started again on the same
port, so a test can take the mail server down and bring it back. Use it from a fixture::

    @pytest.fixture
    def smtp() -> Iterator[SmtpSink]:
        with running_sink() as sink:
            yield sink

and point the settings at it with ``dataclasses.replace(settings, smtp_url=sink.url)``.

:func:`digest_items` reads the chase's digest e-mails back into ``(recipient, action id, stage)``
items, so that a test can count how often each reminder reached each person.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from server.actions.chasing import STAGE_WORDS
from tests.support import free_port


@dataclass(frozen=True, slots=True)
class Received:
    """One message as the SMTP server saw it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None, "no text/plain part"
        return str(body.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        return self.sink._store(Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), message))


class SmtpSink:
    """An SMTP server on 127.0.0.1:``port`` that keeps what it receives; start/stop at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._controller: Controller | None = None
        self._accept_limit: int | None = None
        self.refused = 0
        self.delay = 0.0  # seconds to take over each message, like a slow server

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on the same port; received messages are kept across restarts."""
        if self._controller is not None:
            return
        deadline = time.monotonic() + 10
        while True:
            controller = Controller(
                _Handler(self),
                hostname="127.0.0.1",
                port=self.port,
                server_hostname="sink.test",  # no reverse DNS lookup of the host
                ready_timeout=10,
            )
            try:
                controller.start()
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:  # the port may linger a moment after a stop
                    raise
                time.sleep(0.05)
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        """Stop listening: clients now get "connection refused" on this port."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse_after(self, count: int) -> None:
        """Accept ``count`` more messages, then answer every one "451 try again later", as a
        struggling server does; :meth:`accept_all` ends it."""
        with self._lock:
            self._accept_limit = len(self._received) + count

    def accept_all(self) -> None:
        with self._lock:
            self._accept_limit = None

    def _store(self, item: Received) -> str:
        with self._lock:
            if self._accept_limit is not None and len(self._received) >= self._accept_limit:
                self.refused += 1
                return "451 Requested action aborted: try again later"
            self._received.append(item)
            return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@contextmanager
def running_sink(port: int | None = None) -> Iterator[SmtpSink]:
    sink = SmtpSink(port)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# --- reading the chase's digests --------------------------------------------------------------

_WORDS_TO_STAGE = {words.capitalize(): str(stage) for stage, words in STAGE_WORDS.items()}
_LINK = re.compile(r"/actions/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*$")

Item = tuple[str, uuid.UUID, str]
"""(recipient e-mail address, action id, stage) — one reminder as a person received it."""


def digest_items(received: Received) -> list[Item]:
    """The reminders listed in one digest: each item is a title line, a line starting with the
    stage's words, and the action's link."""
    assert len(received.rcpt_tos) == 1, "a digest goes to one person"
    recipient = received.rcpt_tos[0]
    lines = received.text.splitlines()
    items: list[Item] = []
    for index, line in enumerate(lines):
        match = _LINK.search(line)
        if match is None:
            continue
        words = lines[index - 1].strip().split(";", 1)[0]
        assert words in _WORDS_TO_STAGE, f"unknown stage words {words!r} in {received.subject!r}"
        items.append((recipient, uuid.UUID(match.group(1)), _WORDS_TO_STAGE[words]))
    assert items, f"a digest with no items: {received.text!r}"
    return items


def count_items(messages: Iterable[Received]) -> Counter[Item]:
    """How often each (recipient, action, stage) arrived, over all the digests given."""
    counter: Counter[Item] = Counter()
    for received in messages:
        counter.update(digest_items(received))
    return counter
