"""The insights page and its CSV, for administrators and people with the insights permission."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from server.exports import csv_text
from server.insights import service
from server.insights.rules import CSV_HEADER, Period, csv_rows, default_period, parse_day, period_problems
from server.insights.view import headlines, period_words, sections
from server.timeutil import today_local
from server.web.caller import Caller
from server.web.render import page
from server.web.types import HttpRequest

FromText = Annotated[str | None, QueryParameter(name="from", max_length=100, required=False)]
ToText = Annotated[str | None, QueryParameter(name="to", max_length=100, required=False)]


def _period(first: str | None, last: str | None) -> tuple[Period | None, dict[str, str]]:
    """The period typed into the form, or the problems with it (beside each field)."""
    default = default_period(today_local())
    errors: dict[str, str] = {}
    start = parse_day(first) if first else default.first
    end = parse_day(last) if last else default.last
    if start is None:
        errors["from"] = "Enter the first day as a date, like 2026-04-01."
    if end is None:
        errors["to"] = "Enter the last day as a date, like 2027-03-31."
    if start is None or end is None:
        return None, errors
    errors = period_problems(start, end)
    return (None, errors) if errors else (Period(start, end), {})


class InsightsPages(Controller):
    path = "/insights"
    include_in_schema = False

    @get("/")
    async def index(
        self, request: HttpRequest, caller: Caller, first: FromText = None, last: ToText = None
    ) -> Template:
        service.require_reader(caller.user)
        period, errors = _period(first, last)
        values = {"from": first or "", "to": last or ""}
        context: dict[str, Any] = {"errors": errors, "values": values, "insights": None}
        if period is None:
            return page(request, "insights/index.html", status_code=400, **context)
        insights = await service.partnership(caller.db, caller.settings, caller.actor, caller.user, period, via="page")
        values = {"from": period.first.isoformat(), "to": period.last.isoformat()}
        return page(
            request,
            "insights/index.html",
            errors={},
            values=values,
            insights=insights,
            headlines=headlines(insights),
            sections=sections(insights),
            period_words=period_words(insights.period),
            csv_query=f"from={period.first.isoformat()}&to={period.last.isoformat()}",
        )

    @get("/export.csv")
    async def export(self, caller: Caller, first: FromText = None, last: ToText = None) -> Response[str]:
        service.require_reader(caller.user)
        period, errors = _period(first, last)
        if period is None:
            return Response(" ".join(errors.values()), status_code=400, media_type="text/plain; charset=utf-8")
        insights = await service.partnership(
            caller.db, caller.settings, caller.actor, caller.user, period, via="csv", export=True
        )
        name = f"partnership-insights-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
        return Response(
            csv_text(CSV_HEADER, csv_rows(insights)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
