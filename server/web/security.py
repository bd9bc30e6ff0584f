"""ASGI middleware: who is calling (session cookie or bearer token), CSRF, and security headers."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from server.people import service as people
from server.people.session_cache import SignedIn
from server.platform.db import utcnow
from server.web.errors import outage

if TYPE_CHECKING:
    from server.platform.runtime import Runtime

log = logging.getLogger(__name__)

# The CSRF middleware reads and replays raw ASGI messages; plain dicts describe them honestly.
RawScope = dict[str, Any]
RawReceive = Callable[[], Awaitable[dict[str, Any]]]
RawSend = Callable[[dict[str, Any]], Awaitable[None]]

SESSION_COOKIE = "rt_session"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = b"x-csrftoken"
CSRF_FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 256 * 1024
MAX_UPLOAD_BYTES = 11 * 1024 * 1024  # a form with a file: a 10 MiB PDF and its fields
_MULTIPART_FIELD = re.compile(rb'name="_csrf_token"\r\n\r\n([A-Za-z0-9_\-]{1,100})\r\n')

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Auth:
    """How the caller proved who they are: a browser session or a bearer token."""

    kind: str
    session_id: uuid.UUID | None = None


def runtime_of(scope: Mapping[str, Any]) -> Runtime:
    return scope["litestar_app"].state["runtime"]  # type: ignore[no-any-return]


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def cookies(scope: Mapping[str, Any]) -> dict[str, str]:
    raw = header(scope, b"cookie")
    if not raw:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is treated as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def bearer_token(scope: Mapping[str, Any]) -> str | None:
    value = header(scope, b"authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


def client_ip(scope: Mapping[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


class AuthMiddleware:
    """Resolves scope["user"] and scope["auth"] for every HTTP request and socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope["path"].startswith("/static/"):
            try:
                scope["user"], scope["auth"] = await self._identify(scope)
            except Exception as error:
                if scope["type"] != ScopeType.WEBSOCKET or outage(error) is None:
                    raise  # the app's error handlers answer: a 503 with Retry-After for an outage
                await _try_again_later(cast(RawReceive, receive), cast(RawSend, send))
                return
        await self.app(scope, receive, send)

    async def _identify(self, scope: Scope) -> tuple[Any, Auth | None]:
        runtime = runtime_of(scope)
        token = bearer_token(scope)
        if token is not None:
            async with runtime.sessionmaker() as session:
                user = await people.user_for_api_token(session, token)
            return (user, Auth("token")) if user else (None, None)
        cookie = cookies(scope).get(SESSION_COOKIE)
        if not cookie:
            return None, None
        cached = runtime.session_cache.get(cookie)
        if cached is not None:  # no database session: even closing an unused one takes turns of the loop
            if cached.stale:
                runtime.in_background(_look_up_again(runtime, cookie))
            return cached.user, Auth("session", cached.session_id)
        async with runtime.sessionmaker() as session:
            found = await _look_up(runtime, session, cookie)
        return (found.user, Auth("session", found.session_id)) if found else (None, None)


async def _look_up(runtime: Runtime, session: AsyncSession, cookie: str) -> SignedIn | None:
    generation = runtime.session_cache.generation
    found = await people.user_for_session(session, runtime.settings, cookie)
    if found is None:
        runtime.session_cache.forget(cookie)
    else:
        runtime.session_cache.put(cookie, found, utcnow(), generation)
    return found


async def _look_up_again(runtime: Runtime, cookie: str) -> None:
    """A remembered session, checked again off the request's path: this records the person's
    activity, and ends the entry if the session has ended."""
    try:
        async with runtime.sessionmaker() as session:
            await _look_up(runtime, session, cookie)
    except Exception:
        runtime.session_cache.forget(cookie)  # the next request asks, and answers for itself
        log.warning("a session could not be checked again", exc_info=True)


async def _try_again_later(receive: RawReceive, send: RawSend) -> None:
    """A socket that cannot be identified because the database is out of reach: accepted and
    closed with 1013 (try again later), which pages retry by themselves; refused before the
    handshake, it would look like a 403."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1013, "reason": "The server is busy for a moment; try again."})


class CsrfMiddleware:
    """Double-submit cookie: a state-changing browser request must echo the csrftoken cookie
    in the x-csrftoken header (htmx, scripts) or the _csrf_token form field (plain forms).
    Bearer-token calls carry no cookies, so they cannot be forged cross-site and are exempt."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, asgi_scope: Scope, asgi_receive: Receive, asgi_send: Send) -> None:
        scope, receive, send = cast(RawScope, asgi_scope), cast(RawReceive, asgi_receive), cast(RawSend, asgi_send)
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(asgi_scope, asgi_receive, asgi_send)
            return
        existing = cookies(scope).get(CSRF_COOKIE)
        scope["csrf_token"] = existing or secrets.token_urlsafe(32)
        if scope["method"] not in SAFE_METHODS and bearer_token(scope) is None:
            receive, ok = await self._check(scope, receive, existing)
            if not ok:
                await _refuse(scope, send)
                return
        if existing is None:
            send = _with_cookie(send, scope)
        await self.app(asgi_scope, cast(Receive, receive), cast(Send, send))

    async def _check(self, scope: RawScope, receive: RawReceive, expected: str | None) -> tuple[RawReceive, bool]:
        if not expected:
            return receive, False
        sent = header(scope, CSRF_HEADER)
        if sent is not None:
            return receive, hmac.compare_digest(sent, expected)
        content_type = header(scope, b"content-type") or ""
        if content_type.startswith("multipart/form-data"):  # a form with a file (a report's PDF)
            body, receive = await _buffer_body(receive, limit=MAX_UPLOAD_BYTES)
            found = _MULTIPART_FIELD.search(body or b"")
            return receive, found is not None and hmac.compare_digest(found.group(1).decode("ascii"), expected)
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return receive, False
        body, receive = await _buffer_body(receive)
        if body is None:
            return receive, False
        field = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
        return receive, hmac.compare_digest(field, expected)


async def _buffer_body(receive: RawReceive, limit: int = 0) -> tuple[bytes | None, RawReceive]:
    """Read the whole body (bounded) and hand the handler a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > (limit or MAX_FORM_BYTES):
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(scope: RawScope, send: RawSend) -> None:
    wants_json = scope["path"].startswith("/api/")
    if wants_json:
        body = b'{"status_code":403,"detail":"The CSRF token is missing or wrong. Reload the page and try again."}'
        content_type = b"application/json"
    else:
        body = b"The form had expired. Go back, reload the page and try again."
        content_type = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 403, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


def _with_cookie(send: RawSend, scope: RawScope) -> RawSend:
    secure = runtime_of(scope).settings.secure_cookies
    cookie = f"{CSRF_COOKIE}={scope['csrf_token']}; Path=/; SameSite=Lax" + ("; Secure" if secure else "")

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            MutableScopeHeaders.from_message(cast(Message, message)).add("set-cookie", cookie)
        await send(message)

    return wrapped


async def security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: every response carries these, including 404s and 405s that no route
    handled (route middleware would miss those). HSTS only when served over https."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["x-content-type-options"] = "nosniff"
    headers["referrer-policy"] = "same-origin"
    headers["x-frame-options"] = "DENY"
    headers["permissions-policy"] = "camera=(), microphone=(), geolocation=()"
    if "content-security-policy" not in headers:
        headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    if runtime_of(scope).settings.secure_cookies:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    if not scope["path"].startswith("/static/"):
        headers["cache-control"] = "no-store"
