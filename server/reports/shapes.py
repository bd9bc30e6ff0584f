"""How reports look in the JSON API (API.md "Reports before a meeting")."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec

from server.people.shapes import AgencyOut, UserBrief, agency_json, user_brief
from server.reports.models import Report, ReportResponse
from server.reports.service import ReportsView
from server.shapes import Timestamp, iso


class ResponseOut(msgspec.Struct):
    id: UUID
    author: UserBrief | None
    agrees: bool
    text: str
    created_at: Timestamp


class PdfOut(msgspec.Struct):
    name: str
    size: int
    url: str


class ReportOut(msgspec.Struct):
    """One report. ``withheld_reason`` is given to professionals only (a family member never
    sees a withheld report at all)."""

    id: UUID
    agency: AgencyOut
    author: UserBrief | None
    submitted_at: Timestamp
    updated_at: Timestamp
    text: str
    share_with_family: bool
    responses: list[ResponseOut]
    withheld_reason: str | None = None
    pdf: PdfOut | None = None


class ReportsOut(msgspec.Struct):
    due_on: date
    share_on: date
    expected: list[AgencyOut]
    missing: list[AgencyOut]
    reports: list[ReportOut]


def response_json(response: ReportResponse) -> ResponseOut:
    author = user_brief(response.author) if response.author else None
    return ResponseOut(response.id, author, response.agrees, response.text, iso(response.created_at))


def report_json(report: Report, *, for_family: bool) -> ReportOut:
    pdf = None
    if report.pdf_size is not None:
        url = f"/meetings/{report.meeting_id}/reports/{report.id}/pdf"
        pdf = PdfOut(report.pdf_name or "report.pdf", report.pdf_size, url)
    return ReportOut(
        id=report.id,
        agency=agency_json(report.agency),
        author=user_brief(report.author) if report.author else None,
        submitted_at=iso(report.submitted_at),
        updated_at=iso(report.updated_at),
        text=report.text,
        share_with_family=report.share_with_family,
        responses=[response_json(r) for r in report.responses],
        withheld_reason=None if for_family else report.withheld_reason,
        pdf=pdf,
    )


def reports_json(view: ReportsView) -> ReportsOut:
    return ReportsOut(
        due_on=view.dates.due_on,
        share_on=view.dates.share_on,
        expected=[agency_json(a) for a in view.expected],
        missing=[agency_json(a) for a in view.missing],
        reports=[report_json(r, for_family=view.is_family) for r in view.reports],
    )
