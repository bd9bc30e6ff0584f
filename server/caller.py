"""Who is asking, as one value: a service that reads for someone or changes something on their
behalf is given the session, the person, how the audit trail names them, the settings and the live
publisher together. Routes are given it as a dependency (``server.web.caller``)."""

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
