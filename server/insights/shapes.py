"""The insights in the JSON API (a contract: API.md, "Partnership insights"; add, never rename).

Numbers only: an agency is named (it is a partnership's member, not a person), the family is one
figure for all families (a family agency is called after the family), and nothing else is."""

from __future__ import annotations

import msgspec

from server.insights.rules import AgencyFigures, Insights
from server.people.shapes import AgencyOut
from server.shapes import from_attributes


class AgencyInsights(msgspec.Struct):
    agency: AgencyOut
    meetings_invited: int
    meetings_attended: int
    reports_expected: int
    reports_on_time: int
    speaking_seconds: int
    speaking_share: float | None
    items_present_not_heard: int
    actions_assigned: int
    actions_done_on_time: int
    actions_overdue: int
    actions_declined: int


class FamilyInsights(msgspec.Struct):
    speaking_share: float | None
    items_present_not_heard: int


class TimescalesInsights(msgspec.Struct):
    met: int
    met_late: int
    overdue: int


class MinutesInsights(msgspec.Struct):
    """Minutes of the meetings ended in the period; ``pending`` (drafts still within the limit)
    is beside the contract's two figures."""

    approved_within_15_working_days: int
    late: int
    pending: int


class InsightsOut(msgspec.Struct):
    agencies: list[AgencyInsights]
    family: FamilyInsights
    timescales: TimescalesInsights
    minutes: MinutesInsights


def _agency(figures: AgencyFigures) -> AgencyInsights:
    return from_attributes(AgencyInsights, figures, agency=from_attributes(AgencyOut, figures.agency))


def insights_json(insights: Insights) -> InsightsOut:
    return InsightsOut(
        agencies=[_agency(figures) for figures in insights.agencies],
        family=from_attributes(FamilyInsights, insights.family),
        timescales=from_attributes(TimescalesInsights, insights.timescales),
        minutes=from_attributes(
            MinutesInsights, insights.minutes, approved_within_15_working_days=insights.minutes.on_time
        ),
    )
