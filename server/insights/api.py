"""JSON API: the partnership insights, and one case's (API.md, "Partnership insights")."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.insights import service
from server.insights.shapes import InsightsOut, insights_json
from server.people.models import User

From = Annotated[date | None, QueryParameter(name="from", description="first day (local), YYYY-MM-DD")]
To = Annotated[date | None, QueryParameter(name="to", description="last day (local), YYYY-MM-DD; default today")]


class InsightsApi(Controller):
    path = "/api"
    tags = ["Partnership insights"]

    @get("/insights")
    async def partnership(
        self, db: AsyncSession, settings: Settings, user: User, actor: Actor, first: From = None, last: To = None
    ) -> InsightsOut:
        """Numbers only, across every case, over a period (default: the last twelve months):
        administrators and people with the insights permission (`can_see_insights`)."""
        period = service.choose_period(first, last)
        return insights_json(await service.partnership(db, settings, actor, user, period, via="api"))

    @get("/cases/{case_id:uuid}/insights")
    async def case(
        self,
        case_id: UUID,
        db: AsyncSession,
        settings: Settings,
        user: User,
        actor: Actor,
        first: From = None,
        last: To = None,
    ) -> InsightsOut:
        """The same figures for one case, for its team (default period: the last twelve months)."""
        period = service.choose_period(first, last)
        return insights_json(await service.for_case(db, settings, actor, user, case_id, period, via="api"))
