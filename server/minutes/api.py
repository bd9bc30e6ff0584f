"""JSON API of the minutes: the caller's copy, as issued when the meeting ended."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.minutes.service import minutes_for
from server.minutes.shapes import MinutesOut, minutes_json
from server.people.models import User


class MinutesApi(Controller):
    path = "/api/meetings/{meeting_id:uuid}/minutes"
    tags = ["Minutes"]

    @get("/")
    async def minutes(self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor) -> MinutesOut:
        """The minutes as issued to the caller: `audience` is professionals or family (a family
        member gets the family's copy, without professionals-only items). 404 until issued."""
        copy = await minutes_for(db, actor, user, meeting_id, via="api")
        return minutes_json(copy.snapshot, copy.audience, copy.issued_at)
