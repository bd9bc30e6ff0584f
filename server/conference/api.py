"""JSON API of the conference outside the room: the case's scales across its meetings."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.conference.service import case_scales
from server.conference.shapes import CaseScales
from server.people.models import User
from server.platform.db import transaction


class ConferenceApi(Controller):
    path = "/api/cases"
    tags = ["conference"]

    @get("/{case_id:uuid}/scales")
    async def list_scales(self, case_id: UUID, db: AsyncSession, user: User, actor: Actor) -> CaseScales:
        """Every revealed scale of the case, oldest first, with each score and the spread per agency."""
        found = await case_scales(db, user, case_id)
        async with transaction(db):
            record(db, actor, "scales.view", "case", case_id, case_id=case_id, via="api")
        return found
