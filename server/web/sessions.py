"""The browser session: where it is opened from, its cookie set at sign-in, and its end at
sign-out (which also closes sockets)."""

from __future__ import annotations

from typing import TypedDict

from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.people import service
from server.web.security import SESSION_COOKIE, Auth, client_ip


class Origin(TypedDict):
    """Where a new session is opened from, as its row records it (the keyword arguments the
    people service's sign-in, invitation and password calls take)."""

    ip: str | None
    user_agent: str | None


def origin(request: Request) -> Origin:  # type: ignore[type-arg]
    return Origin(ip=client_ip(request.scope), user_agent=request.headers.get("user-agent"))


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:  # type: ignore[type-arg]
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_max_hours * 3600,
    )


async def end_browser_session(request: Request, db: AsyncSession, actor: Actor, auth: Auth) -> None:  # type: ignore[type-arg]
    if auth.session_id is not None:
        await service.sign_out(db, actor, auth.session_id)
        hub = request.app.state.get("live")
        if hub is not None:
            await hub.access_changed()
