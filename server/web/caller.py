"""The caller of a route as one dependency: the session, who is asking, how the audit trail names
them, the settings and the live publisher together. The value is ``server.caller.Caller``, which
the services take; it is re-exported here for the routes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.caller import Caller
from server.config import Settings
from server.live.events import Publisher
from server.people.models import User

__all__ = ["Caller", "provide_caller"]


def provide_caller(db: AsyncSession, user: User, actor: Actor, settings: Settings, publisher: Publisher) -> Caller:
    """Built from the other dependencies, so signing in is still required the same way (``user``)."""
    return Caller(db, user, actor, settings, publisher)
