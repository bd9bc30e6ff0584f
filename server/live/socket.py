"""The meeting's websocket: /ws/meetings/{id}. Only signed-in members of the case; browsers
(session cookie) only from the server's own Origin; bounded messages from the client."""

from __future__ import annotations

import time
import uuid

from litestar import websocket
from litestar.exceptions import WebSocketDisconnect

from server.audit.service import Actor, record
from server.errors import NotFound
from server.live.clients import Client
from server.live.hub import LiveHub
from server.meetings.service import visible_meeting
from server.meetings.state import Audience, audience_for
from server.people.models import User
from server.platform.db import transaction
from server.platform.runtime import Runtime
from server.web.security import Auth, client_ip, header
from server.web.types import Socket

MAX_MESSAGE = 4096
MAX_MESSAGES_PER_10S = 50


def _origin_ok(socket: Socket, auth: Auth, runtime: Runtime) -> bool:
    """Cookies ride along on cross-site socket requests, so a cookie-authenticated socket must
    come from our own pages. Bearer-token clients send no cookies and need no Origin."""
    if auth.kind != "session":
        return True
    return header(socket.scope, b"origin") == runtime.settings.origin


async def _refuse(socket: Socket, code: int, reason: str) -> None:
    """Accept, then close at once with the reason's code, so the client can tell "sign in again"
    or "gone" from a network fault: closed before the handshake, a browser only ever sees 1006,
    which the room page retries for ever. (A foreign Origin is still refused at the handshake.)"""
    await socket.accept()
    await socket.close(code=code, reason=reason)


@websocket("/ws/meetings/{meeting_id:uuid}")
async def meeting_socket(socket: Socket, meeting_id: uuid.UUID, format: str = "html") -> None:
    runtime: Runtime = socket.app.state["runtime"]
    hub: LiveHub = socket.app.state["live"]
    user, auth = socket.scope.get("user"), socket.scope.get("auth")
    if user is None or auth is None:
        await _refuse(socket, 4401, "Sign in first.")
        return
    if not _origin_ok(socket, auth, runtime):
        await socket.close(code=4403, reason="This socket only accepts the server's own pages.")
        return
    admitted = await _admit(runtime, socket, user, meeting_id, format)
    if admitted is None:
        await _refuse(socket, 4404, "No such meeting.")
        return
    case_id, audience = admitted
    user_id = user.id
    del user, admitted  # the socket lives for hours: keep ids, not ORM rows (and their session), here
    await socket.accept()
    client = Client(
        meeting_id=meeting_id,
        case_id=case_id,
        user_id=user_id,
        session_id=auth.session_id,
        audience=audience,
        wants_json=format == "json",
        send=socket.send_text,
        close=lambda code, reason: socket.close(code=code, reason=reason),
    )
    await hub.connect(client)
    try:
        await _listen(socket, hub, client)
    except WebSocketDisconnect:
        pass
    finally:
        await hub.disconnect(client)


async def _admit(
    runtime: Runtime, socket: Socket, user: User, meeting_id: uuid.UUID, format: str
) -> tuple[uuid.UUID, Audience] | None:
    """The case and audience of a member's socket (audited), or None if the meeting is not
    theirs to see. A function of its own, so that the rows read and the closed session die
    with its frame instead of living as long as the socket."""
    async with runtime.sessionmaker() as session:
        try:
            visible = await visible_meeting(session, user, meeting_id)
        except NotFound:
            return None
        async with transaction(session):
            actor = Actor(user.id, client_ip(socket.scope))
            record(
                session,
                actor,
                "socket.connect",
                "meeting",
                meeting_id,
                case_id=visible.meeting.case_id,
                meeting_id=meeting_id,
                format=format,
            )
        return visible.meeting.case_id, audience_for(visible.case.access.role, is_chair=visible.is_chair)


async def _listen(socket: Socket, hub: LiveHub, client: Client) -> None:
    """Clients only ask for the whole room again (after a gap); anything else is ignored.
    Oversized or too frequent messages close the socket."""
    window_start, count = time.monotonic(), 0
    while True:
        message = await socket.receive_text()
        now = time.monotonic()
        if now - window_start > 10:
            window_start, count = now, 0
        count += 1
        if len(message) > MAX_MESSAGE or count > MAX_MESSAGES_PER_10S:
            await socket.close(code=1008, reason="Too many or too large messages.")
            return
        if "resync" in message:
            await hub.resend(client)
