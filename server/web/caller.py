"""The caller of a route as one dependency: a handler that changes something needs the session,
who is asking, how the audit trail names them, the settings and the live publisher together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.live.events import Publisher
from server.people.models import User


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in caller and what every service call of theirs is given."""

    db: AsyncSession
    user: User
    actor: Actor
    settings: Settings
    publisher: Publisher


def provide_caller(db: AsyncSession, user: User, actor: Actor, settings: Settings, publisher: Publisher) -> Caller:
    """Built from the other dependencies, so signing in is still required the same way (``user``)."""
    return Caller(db, user, actor, settings, publisher)
