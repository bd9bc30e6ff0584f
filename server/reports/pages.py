"""Pages: writing my agency's report from the meeting page, the family's answers, the PDF.

The reports themselves are shown on the meeting page (meetings/meeting.html includes
reports/_reports.html); these routes take its forms and serve an attached file."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.config import Settings
from server.errors import DomainError, Invalid, Problems
from server.limits import too_long
from server.meetings.pages import meeting_page
from server.people.models import User
from server.reports import service
from server.reports.api import PDF_LIMIT
from server.web.forms import checked, form_errors
from server.web.render import redirect
from server.web.types import HttpRequest


async def _form(request: HttpRequest) -> tuple[dict[str, str], UploadFile | None]:
    form = await request.form()
    data = {key: str(value).strip() for key, value in form.items() if isinstance(value, str)}
    if any("\x00" in value for value in data.values()):
        raise Invalid("The form contained characters that cannot be stored. Please retype it.")
    data.pop("_csrf_token", None)
    upload = form.get("pdf")
    return data, upload if isinstance(upload, UploadFile) and upload.filename else None


class ReportPages(Controller):
    include_in_schema = False

    @post("/meetings/{meeting_id:uuid}/reports/mine", request_max_body_size=PDF_LIMIT)
    async def write_mine(
        self, request: HttpRequest, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> Response[Any]:
        data: dict[str, str] = {}
        try:
            data, upload = await _form(request)
            content = await upload.read() if upload is not None else None
            body = service.ReportInput(
                text=data.get("text", ""),
                share_with_family=not checked(data, "withhold"),
                withheld_reason=data.get("withheld_reason") or None,
                pdf=content,
                pdf_name=upload.filename if upload is not None else None,
            )
            await service.write_mine(db, settings, actor, user, meeting_id, body)
        except DomainError as error:
            errors = form_errors(error, default="text")
            return await meeting_page(
                request, db, user, actor, meeting_id, 422, form="report", errors=errors, values=data
            )
        return redirect(request, f"/meetings/{meeting_id}#reports-heading", flash="Your report was sent.")

    @post("/meetings/{meeting_id:uuid}/reports/{report_id:uuid}/responses")
    async def respond(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        report_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        settings: Settings,
    ) -> Response[Any]:
        data: dict[str, str] = {}
        try:
            data, _ = await _form(request)
            agrees = data.get("agrees")
            problems: dict[str, str] = {}
            if message := too_long(data.get("text", ""), service.RESPONSE_TEXT, "the answer"):
                problems["text"] = message
            if agrees not in ("yes", "no"):
                problems["agrees"] = "Say whether you agree with the report."
            if problems:
                raise Problems(problems)
            await service.respond(
                db, actor, user, settings, meeting_id, report_id, text=data.get("text", ""), agrees=agrees == "yes"
            )
        except DomainError as error:
            errors = {f"{report_id}-{k}": v for k, v in form_errors(error, default="text").items()}
            values = {f"{report_id}-{k}": v for k, v in data.items()}
            return await meeting_page(
                request, db, user, actor, meeting_id, 422, form="response", errors=errors, values=values
            )
        return redirect(request, f"/meetings/{meeting_id}#report-{report_id}", flash="Thank you: your answer was sent.")

    @get("/meetings/{meeting_id:uuid}/reports/{report_id:uuid}/pdf")
    async def pdf(
        self, meeting_id: UUID, report_id: UUID, db: AsyncSession, user: User, actor: Actor, settings: Settings
    ) -> Response[bytes]:
        name, content = await service.report_pdf(db, settings, actor, user, meeting_id, report_id)
        safe = "".join(c for c in name if c.isalnum() or c in "._- ") or "report.pdf"
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "private, no-store"},
        )
