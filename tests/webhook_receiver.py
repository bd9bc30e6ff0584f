"""For the webhook tests: a real receiver, an HTTP server on loopback (uvicorn) that records every
request it is sent and answers as the test tells it (a status per request, or a slow answer);
the signature computed by hand; and a second signed-in person."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from server.people.models import User
from tests.support import Person, free_port, sign_in


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses for the next requests, in turn; then 200
    delay: float = 0.0  # seconds before answering
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/roundtable/hooks"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        self.requests.append(Received(scope["path"], headers, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status < 300 else b"receiver says no"})

    async def start(self) -> Receiver:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            assert not self._task.done(), "the receiver could not start"
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


def expected_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature computed here by hand (hmac, hashlib, base64), apart from
    the library the server signs with, so that a mistake in either shows."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_matches(secret: str, request: Received) -> bool:
    wanted = expected_signature(
        secret, request.headers["webhook-id"], request.headers["webhook-timestamp"], request.body
    )
    offered = request.headers["webhook-signature"].split(" ")
    return any(hmac.compare_digest(wanted, candidate) for candidate in offered)


@asynccontextmanager
async def browser_of(app: Litestar, user: User) -> AsyncIterator[Person]:
    """A second person signed in to the app in a browser-like client of their own."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        await sign_in(client, user)
        yield Person(client, user)
