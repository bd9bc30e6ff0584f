"""JSON API: a meeting's reports, writing one's own, attaching its PDF, the family's answers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post, put
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.errors import Invalid
from server.people.models import User
from server.reports import service
from server.reports.shapes import ReportOut, ReportsOut, ResponseOut, report_json, reports_json, response_json
from server.web.types import HttpRequest

PDF_LIMIT = service.PDF_BYTES + 64 * 1024


class MyReport(msgspec.Struct):
    text: Annotated[str, msgspec.Meta(max_length=service.REPORT_TEXT)]
    share_with_family: bool = True
    withheld_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class NewResponse(msgspec.Struct):
    agrees: bool
    text: Annotated[str, msgspec.Meta(max_length=service.RESPONSE_TEXT)] = ""


class ReportsApi(Controller):
    path = "/api/meetings/{meeting_id:uuid}/reports"
    tags = ["Reports"]

    @get("/")
    async def list_reports(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> ReportsOut:
        """The meeting's reports as the caller may see them, with the due and share dates and the
        agencies whose report is missing. A family member sees only the reports shared with the
        family, and only from share_on."""
        return reports_json(await service.read_reports(db, settings, actor, user, meeting_id, via="api"))

    @put("/mine")
    async def write_mine(
        self, meeting_id: UUID, data: MyReport, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> ReportOut:
        """Write or replace the report of your agency (a family member: the family's view) until the
        meeting starts; share_with_family false needs a withheld_reason."""
        body = service.ReportInput(data.text, data.share_with_family, data.withheld_reason)
        report = await service.write_mine(db, settings, actor, user, meeting_id, body)
        return report_json(report, for_family=False)

    @put("/mine/pdf", request_max_body_size=PDF_LIMIT)
    async def attach_pdf(
        self, meeting_id: UUID, request: HttpRequest, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> ReportOut:
        """Attach a PDF (the request body, at most 10 MiB) to your agency's report, which must exist."""
        content = await request.body()
        view = await service.read_reports(db, settings, actor, user, meeting_id, via="api:pdf")
        if view.mine is None:
            raise Invalid("Write the report first, then attach its PDF.", code="no_report")
        name = request.headers.get("x-filename", "report.pdf")[:200]
        body = service.ReportInput(
            view.mine.text, view.mine.share_with_family, view.mine.withheld_reason, pdf=content, pdf_name=name
        )
        report = await service.write_mine(db, settings, actor, user, meeting_id, body)
        return report_json(report, for_family=False)

    @post("/{report_id:uuid}/responses", status_code=HTTP_201_CREATED)
    async def respond(
        self,
        meeting_id: UUID,
        report_id: UUID,
        data: NewResponse,
        db: AsyncSession,
        user: User,
        actor: Actor,
        settings: Settings,
    ) -> ResponseOut:
        """A family member answers a report shared with them: agree, or disagree with what is wrong."""
        response = await service.respond(
            db, actor, user, settings, meeting_id, report_id, text=data.text, agrees=data.agrees
        )
        return response_json(response)
