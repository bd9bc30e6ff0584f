"""Clients for the live tests: a signed-in HTTP client against the real server, and sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from server.people.models import User
from tests.support import PASSWORD


class Participant:
    """A person with a browser-like session (cookies, CSRF) against the live server."""

    def __init__(self, base_url: str, user: User) -> None:
        self.base_url = base_url
        self.user = user
        self.http = httpx.AsyncClient(base_url=base_url)

    async def sign_in(self) -> Participant:
        await self.http.get("/sign-in")
        response = await self.http.post(
            "/api/session", json={"email": self.user.email, "password": PASSWORD}, headers=self.csrf
        )
        assert response.status_code == 200, response.text
        return self

    @property
    def csrf(self) -> dict[str, str]:
        return {"x-csrftoken": self.http.cookies.get("csrftoken") or ""}

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body or {}, headers=self.csrf)

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())

    async def socket(self, meeting_id: object, *, fmt: str = "json", origin: str | None = None) -> Socket:
        ws_url = self.base_url.replace("http://", "ws://") + f"/ws/meetings/{meeting_id}?format={fmt}"
        connection = await websockets.connect(
            ws_url,
            additional_headers={"Cookie": self.cookie_header()},
            origin=origin or "http://testserver.local",  # the configured base URL of the test app
        )
        return Socket(connection)

    async def close(self) -> None:
        await self.http.aclose()


class Socket:
    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    async def next(self, timeout: float = 5.0) -> Any:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        return json.loads(raw) if raw.startswith("{") else raw

    async def next_text(self, timeout: float = 5.0) -> str:
        return str(await asyncio.wait_for(self.connection.recv(), timeout))

    async def close(self) -> None:
        await self.connection.close()
