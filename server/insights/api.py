"""JSON API: the partnership insights, and one case's (API.md, "Partnership insights")."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from server.insights import service
from server.insights.shapes import InsightsOut, insights_json
from server.web.caller import Caller

From = Annotated[date | None, QueryParameter(name="from", description="first day (local), YYYY-MM-DD")]
To = Annotated[date | None, QueryParameter(name="to", description="last day (local), YYYY-MM-DD; default today")]


class InsightsApi(Controller):
    path = "/api"
    tags = ["Partnership insights"]

    @get("/insights")
    async def partnership(self, caller: Caller, first: From = None, last: To = None) -> InsightsOut:
        """Numbers only, across every case, over a period (default: the last twelve months):
        administrators and people with the insights permission (`can_see_insights`)."""
        period = service.choose_period(first, last)
        found = await service.partnership(caller.db, caller.settings, caller.actor, caller.user, period, via="api")
        return insights_json(found)

    @get("/cases/{case_id:uuid}/insights")
    async def case(self, case_id: UUID, caller: Caller, first: From = None, last: To = None) -> InsightsOut:
        """The same figures for one case, for its team (default period: the last twelve months)."""
        period = service.choose_period(first, last)
        found = await service.for_case(
            caller.db, caller.settings, caller.actor, caller.user, case_id, period, via="api"
        )
        return insights_json(found)
