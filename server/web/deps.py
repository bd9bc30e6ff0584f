"""Dependencies injected into route handlers: the database session, the caller, their address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.di import Provide
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.errors import NotSignedIn
from server.live.events import NoPublisher, Publisher
from server.meetings.commands import RoomCaller
from server.people.models import User
from server.platform.runtime import Runtime
from server.web.caller import Caller
from server.web.security import Auth, client_ip
from server.web.types import HttpRequest


def runtime(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    return connection.app.state["runtime"]  # type: ignore[no-any-return]


async def provide_db(request: HttpRequest) -> AsyncIterator[AsyncSession]:
    async with runtime(request).sessionmaker() as session:
        yield session


def provide_user(request: HttpRequest) -> User:
    user = request.scope.get("user")
    if user is None:
        raise NotSignedIn("Sign in first.")
    return cast(User, user)


def provide_optional_user(request: HttpRequest) -> User | None:
    return cast(User | None, request.scope.get("user"))


def provide_auth(request: HttpRequest) -> Auth | None:
    return cast(Auth | None, request.scope.get("auth"))


def provide_actor(request: HttpRequest) -> Actor:
    user = request.scope.get("user")
    return Actor(user.id if user else None, client_ip(request.scope))


def provide_settings(request: HttpRequest) -> Settings:
    return runtime(request).settings


def provide_redis(request: HttpRequest) -> Redis:
    return runtime(request).redis


def provide_publisher(request: HttpRequest) -> Publisher:
    """The live hub tells every web process about a change after its commit."""
    return request.app.state.get("live") or NoPublisher()


# The caller and the room are built from the request and the session alone, not from the other
# dependencies: Litestar resolves two or more dependencies of one level in a task group, tasks
# and turns of the event loop on every request's path for values that cost nothing to work out.


def provide_caller(request: HttpRequest, db: AsyncSession) -> Caller:
    """Who is asking; signing in is required the same way as for ``user``."""
    return Caller(
        db, provide_user(request), provide_actor(request), provide_settings(request), provide_publisher(request)
    )


def provide_room(request: HttpRequest, db: AsyncSession) -> RoomCaller:
    """The room's operations, bound to this caller."""
    caller = provide_caller(request, db)
    return RoomCaller(db, caller.publisher, caller.actor, caller.user, caller.settings)


DEPENDENCIES = {
    "publisher": Provide(provide_publisher, sync_to_thread=False),
    "db": Provide(provide_db),
    "user": Provide(provide_user, sync_to_thread=False),
    "maybe_user": Provide(provide_optional_user, sync_to_thread=False),
    "auth": Provide(provide_auth, sync_to_thread=False),
    "actor": Provide(provide_actor, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "redis": Provide(provide_redis, sync_to_thread=False),
    "room": Provide(provide_room, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
}
