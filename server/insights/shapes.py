"""The insights in the JSON API (a contract: API.md, "Partnership insights"; add, never rename).

Numbers only: an agency is named (it is a partnership's member, not a person), the family is one
figure for all families (a family agency is called after the family), and nothing else is."""

from __future__ import annotations

import msgspec

from server.insights.rules import AgencyFigures, Insights
from server.people.shapes import AgencyOut


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
    agency = figures.agency
    return AgencyInsights(
        agency=AgencyOut(id=agency.id, name=agency.name, sector=agency.sector),
        meetings_invited=figures.meetings_invited,
        meetings_attended=figures.meetings_attended,
        reports_expected=figures.reports_expected,
        reports_on_time=figures.reports_on_time,
        speaking_seconds=figures.speaking_seconds,
        speaking_share=figures.speaking_share,
        items_present_not_heard=figures.items_present_not_heard,
        actions_assigned=figures.actions_assigned,
        actions_done_on_time=figures.actions_done_on_time,
        actions_overdue=figures.actions_overdue,
        actions_declined=figures.actions_declined,
    )


def insights_json(insights: Insights) -> InsightsOut:
    return InsightsOut(
        agencies=[_agency(figures) for figures in insights.agencies],
        family=FamilyInsights(
            speaking_share=insights.family.speaking_share,
            items_present_not_heard=insights.family.items_present_not_heard,
        ),
        timescales=TimescalesInsights(
            met=insights.timescales.met, met_late=insights.timescales.met_late, overdue=insights.timescales.overdue
        ),
        minutes=MinutesInsights(
            approved_within_15_working_days=insights.minutes.on_time,
            late=insights.minutes.late,
            pending=insights.minutes.pending,
        ),
    )
