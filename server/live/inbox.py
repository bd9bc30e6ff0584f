"""The personal socket of every signed-in page (/ws/me): "you have a notification" and "the
actions you see changed", so open pages update without reloading. Only a kind and an unread
count travel on it; the page fetches what it shows through the normal, access-checked routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from litestar import websocket
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.exceptions import WebSocketDisconnect

from server.live.events import user_channel
from server.notify.notifications import unread_count
from server.platform.runtime import Runtime
from server.web.security import header
from server.web.types import Socket


@dataclass(eq=False)
class InboxClient:
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    socket: Socket


@dataclass
class _Person:
    clients: set[InboxClient] = field(default_factory=set)
    subscriber: Subscriber | None = None
    task: asyncio.Task[None] | None = None


class Inbox:
    def __init__(self, runtime: Runtime, channels: ChannelsPlugin) -> None:
        self.runtime = runtime
        self.channels = channels
        self.people: dict[uuid.UUID, _Person] = defaultdict(_Person)

    async def connect(self, client: InboxClient) -> None:
        person = self.people[client.user_id]
        if person.subscriber is None:
            person.subscriber = await self.channels.subscribe(user_channel(client.user_id))
            person.task = asyncio.create_task(self._forward(client.user_id, person.subscriber))
        person.clients.add(client)
        await self._send(client, {"kind": "hello", "unread": await self._unread(client.user_id)})

    async def disconnect(self, client: InboxClient) -> None:
        person = self.people.get(client.user_id)
        if person is None:
            return
        person.clients.discard(client)
        if not person.clients:
            del self.people[client.user_id]
            if person.task is not None:
                person.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await person.task
            if person.subscriber is not None:
                await self.channels.unsubscribe(person.subscriber)

    async def close_all(self) -> None:
        for person in list(self.people.values()):
            for client in list(person.clients):
                with contextlib.suppress(Exception):
                    await client.socket.close(code=1001)
                await self.disconnect(client)

    def clients(self) -> list[InboxClient]:
        return [c for person in self.people.values() for c in person.clients]

    async def _forward(self, user_id: uuid.UUID, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            try:
                kind = str(json.loads(raw).get("kind", "changed"))
            except ValueError:
                continue
            message = {"kind": kind, "unread": await self._unread(user_id)}
            for client in list(self.people.get(user_id, _Person()).clients):
                await self._send(client, message)

    async def _unread(self, user_id: uuid.UUID) -> int:
        async with self.runtime.sessionmaker() as session:
            return await unread_count(session, user_id)

    async def _send(self, client: InboxClient, message: dict[str, object]) -> None:
        try:
            await asyncio.wait_for(client.socket.send_text(json.dumps(message)), 10)
        except Exception:
            with contextlib.suppress(Exception):
                await client.socket.close(code=1011)
            await self.disconnect(client)


@websocket("/ws/me")
async def inbox_socket(socket: Socket) -> None:
    runtime: Runtime = socket.app.state["runtime"]
    inbox: Inbox = socket.app.state["live"].inbox
    user, auth = socket.scope.get("user"), socket.scope.get("auth")
    if auth is not None and auth.kind == "session" and header(socket.scope, b"origin") != runtime.settings.origin:
        await socket.close(code=4403, reason="This socket only accepts the server's own pages.")  # refused: 403
        return
    await socket.accept()
    if user is None or auth is None:  # accepted first, so the page learns why and stops retrying
        await socket.close(code=4401, reason="Sign in first.")
        return
    client = InboxClient(user.id, auth.session_id, socket)
    await inbox.connect(client)
    try:
        while True:
            message = await socket.receive_text()
            if len(message) > 1024:
                await socket.close(code=1008)
                return
    except WebSocketDisconnect:
        pass
    finally:
        await inbox.disconnect(client)
