"""Reports before a meeting: writing one's agency's report, reading them, the family's answers.

Who sees what is decided once, in :func:`visible_reports`: professionals and the chair see every
report (and why one is withheld); a family member sees the family's own view and the reports
shared with the family, and those only from ``share_on``. Every page, API answer, e-mail and
export of reports goes through it, so a withheld report cannot reach the family by a side door.
Every read and change is in the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.cases.models import CaseMember, CaseRole
from server.cases.service import family_agency_id
from server.config import Settings
from server.errors import Conflict, Forbidden, Invalid, NotFound, Problem, Problems
from server.limits import REASON, too_long
from server.meetings.models import Meeting
from server.meetings.service import VisibleMeeting, visible_meeting
from server.people.models import Agency, User
from server.platform.db import transaction, utcnow
from server.reports import rules
from server.reports.models import Report, ReportResponse
from server.timeutil import today_local

REPORT_TEXT = 50_000
RESPONSE_TEXT = 5_000
PDF_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReportsView:
    """What one person may know of a meeting's reports."""

    meeting: Meeting
    dates: rules.ReportDates
    expected: list[Agency]
    missing: list[Agency]
    reports: list[Report]
    is_family: bool
    mine: Report | None
    my_agency_id: uuid.UUID | None
    may_write: bool


async def expected_agencies(session: AsyncSession, case_id: uuid.UUID) -> list[Agency]:
    """Each agency with a professional on the team owes a report (a chair alone, often an
    independent reviewing officer, does not; the family may write, but is not chased)."""
    query = (
        select(Agency)
        .join(User, User.agency_id == Agency.id)
        .join(CaseMember, CaseMember.user_id == User.id)
        .where(CaseMember.case_id == case_id, CaseMember.role == CaseRole.PROFESSIONAL, User.is_active.is_(True))
        .distinct()
    )
    return sorted((await session.scalars(query)).all(), key=lambda a: a.name)


async def all_reports(session: AsyncSession, meeting_id: uuid.UUID) -> Sequence[Report]:
    query = select(Report).where(Report.meeting_id == meeting_id).order_by(Report.submitted_at)
    return (await session.scalars(query)).all()


async def _family_agency(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID | None:
    return await family_agency_id(session, case_id)


def visible_to(
    report: Report, *, is_family: bool, family_agency: uuid.UUID | None, today: date, share_on: date
) -> bool:
    if not is_family:
        return True
    if family_agency is not None and report.agency_id == family_agency:
        return True
    return rules.family_sees(share_with_family=report.share_with_family, share_on=share_on, today=today)


async def visible_reports(
    session: AsyncSession, settings: Settings, user: User, visible: VisibleMeeting, *, today: date | None = None
) -> ReportsView:
    meeting = visible.meeting
    today = today or today_local()
    dates = rules.dates_for(meeting.kind, meeting.scheduled_at, settings.chase)
    is_family = visible.case.access.is_family
    family_agency = await _family_agency(session, meeting.case_id)
    found = await all_reports(session, meeting.id)
    expected = await expected_agencies(session, meeting.case_id)
    sent = {report.agency_id for report in found}
    shown = [
        r
        for r in found
        if visible_to(r, is_family=is_family, family_agency=family_agency, today=today, share_on=dates.share_on)
    ]
    my_agency = family_agency if is_family else user.agency_id
    if visible.case.access.role is None:
        my_agency = None
    mine = next((r for r in found if r.agency_id == my_agency), None)
    return ReportsView(
        meeting=meeting,
        dates=dates,
        expected=expected,
        missing=[a for a in expected if a.id not in sent],
        reports=shown,
        is_family=is_family,
        mine=mine,
        my_agency_id=my_agency,
        may_write=my_agency is not None and rules.may_write(meeting.status),
    )


async def read_reports(
    session: AsyncSession, settings: Settings, actor: Actor, user: User, meeting_id: uuid.UUID, *, via: str
) -> ReportsView:
    visible = await visible_meeting(session, user, meeting_id)
    view = await visible_reports(session, settings, user, visible)
    async with transaction(session):
        record(
            session,
            actor,
            "report.view",
            "meeting",
            meeting_id,
            case_id=visible.meeting.case_id,
            meeting_id=meeting_id,
            via=via,
            shown=len(view.reports),
        )
    return view


@dataclass(frozen=True, slots=True)
class ReportInput:
    text: str
    share_with_family: bool = True
    withheld_reason: str | None = None
    pdf: bytes | None = None
    pdf_name: str | None = None


def report_problems(data: ReportInput, *, is_family: bool) -> dict[str, str]:
    problems: dict[str, str] = {}
    text = data.text.strip()
    if not text:
        problems["text"] = Problem("Write the report before sending it.", "report_empty")
    elif message := too_long(text, REPORT_TEXT, "the report"):
        problems["text"] = Problem(message, "too_long")
    reason = (data.withheld_reason or "").strip()
    if not data.share_with_family and not is_family and not reason:
        problems["withheld_reason"] = Problem(
            "Say why the family should not read this report: the chair sees the reason.", "withheld_without_reason"
        )
    elif message := too_long(reason, REASON, "the reason"):
        problems["withheld_reason"] = Problem(message, "too_long")
    if data.pdf is not None:
        if len(data.pdf) > PDF_BYTES:
            problems["pdf"] = Problem("The PDF is larger than 10 MiB: attach a smaller file.", "pdf_too_large")
        elif not data.pdf.startswith(b"%PDF-") or b"%%EOF" not in data.pdf[-2048:]:
            problems["pdf"] = Problem("The file is not a PDF: attach a PDF document.", "not_a_pdf")
    return problems


async def write_mine(
    session: AsyncSession, settings: Settings, actor: Actor, user: User, meeting_id: uuid.UUID, data: ReportInput
) -> Report:
    """Write or replace the report of the writer's agency (the family's view for a family member)
    until the meeting starts. A bad field changes nothing, so no report is ever lost."""
    async with transaction(session):
        visible = await visible_meeting(session, user, meeting_id)
        meeting = (
            await session.execute(select(Meeting).where(Meeting.id == meeting_id).with_for_update(of=Meeting))
        ).scalar_one()
        is_family = visible.case.access.is_family
        if visible.case.access.role is None:
            raise Forbidden("Only the case's team writes reports.", code="not_on_team")
        if not rules.may_write(meeting.status):
            raise Conflict("The meeting has started: reports can no longer be sent or changed.", code="meeting_started")
        if problems := report_problems(data, is_family=is_family):
            raise Problems(problems)
        agency_id = (await _family_agency(session, meeting.case_id)) if is_family else user.agency_id
        if agency_id is None:
            raise Invalid("Your account has no agency to write for.", code="no_agency")
        shared = True if is_family else data.share_with_family
        report = await session.scalar(
            select(Report)
            .where(Report.meeting_id == meeting_id, Report.agency_id == agency_id)
            .with_for_update(of=Report)
        )
        if report is None:
            report = Report(meeting_id=meeting_id, agency_id=agency_id)
            session.add(report)
        report.author_id = user.id
        report.text = data.text.strip()
        report.share_with_family = shared
        report.withheld_reason = None if shared else (data.withheld_reason or "").strip()
        report.updated_at = utcnow()
        if data.pdf is not None:
            report.pdf = data.pdf
            report.pdf_size = len(data.pdf)
            name = "".join(c for c in (data.pdf_name or "") if c.isprintable()).strip()
            report.pdf_name = (name or "report.pdf")[:200]
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict("Another report for your agency arrived at the same moment: try again.") from None
        record(
            session,
            actor,
            "report.write",
            "report",
            report.id,
            case_id=meeting.case_id,
            meeting_id=meeting_id,
            share_with_family=shared,
            with_pdf=data.pdf is not None,
        )
    await session.refresh(report, ["agency", "author", "responses"])
    return report


async def respond(
    session: AsyncSession,
    actor: Actor,
    user: User,
    settings: Settings,
    meeting_id: uuid.UUID,
    report_id: uuid.UUID,
    *,
    text: str,
    agrees: bool,
) -> ReportResponse:
    """A family member answers a report shared with them: they agree, or say what is wrong."""
    text = text.strip()
    async with transaction(session):
        visible = await visible_meeting(session, user, meeting_id)
        view = await visible_reports(session, settings, user, visible)
        report = next((r for r in view.reports if r.id == report_id), None)
        if report is None:
            raise NotFound("No such report.", code="no_such_report")
        if not view.is_family:
            raise Forbidden("The family answers the reports shared with them.", code="family_only")
        if not agrees and not text:
            raise Invalid("Say what is wrong in the report.", field="text", code="disagree_without_reason")
        if message := too_long(text, RESPONSE_TEXT, "the answer"):
            raise Invalid(message, field="text", code="too_long")
        response = ReportResponse(report_id=report.id, author_id=user.id, agrees=agrees, text=text)
        session.add(response)
        await session.flush()
        record(
            session,
            actor,
            "report.respond",
            "report",
            report.id,
            case_id=visible.meeting.case_id,
            meeting_id=meeting_id,
            agrees=agrees,
        )
    await session.refresh(report, ["responses"])
    return response


async def report_pdf(
    session: AsyncSession, settings: Settings, actor: Actor, user: User, meeting_id: uuid.UUID, report_id: uuid.UUID
) -> tuple[str, bytes]:
    """The attached PDF, to whoever may see the report; audited."""
    visible = await visible_meeting(session, user, meeting_id)
    view = await visible_reports(session, settings, user, visible)
    report = next((r for r in view.reports if r.id == report_id), None)
    if report is None or report.pdf_size is None:
        raise NotFound("No such file.")
    content = await session.scalar(select(Report.pdf).where(Report.id == report.id))
    if content is None:
        raise NotFound("No such file.")
    async with transaction(session):
        record(
            session,
            actor,
            "report.pdf.view",
            "report",
            report.id,
            case_id=visible.meeting.case_id,
            meeting_id=meeting_id,
        )
    return report.pdf_name or "report.pdf", content
