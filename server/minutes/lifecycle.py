"""The minutes between the meeting and their approval: attendees' corrections while the draft is
open, the chair's edits and replies, and the approval that freezes and sends them.

Each change locks the meeting's review row first, so a correction and the approval cannot
cross: a correction either lands in the draft the chair approves, or is refused because the
minutes are approved. Every change is audited; the chair is told of each correction in the app
(the notice names the meeting, never the correction's text).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import record_meeting
from server.caller import Caller
from server.cases.models import CaseMember, CaseRole
from server.errors import Conflict, Forbidden, Invalid, Problem, Problems
from server.limits import NOTE, REASON, too_long
from server.lookup import of_meeting
from server.meetings.models import AgendaItem, Attendance, Meeting
from server.meetings.service import VisibleMeeting, visible_meeting
from server.minutes import rules
from server.minutes.models import CorrectionState, MinutesCorrection, MinutesReview, MinutesStatus
from server.minutes.service import MinutesCopy, issue_minutes, minutes_for
from server.minutes.shapes import CorrectionOut, MinutesOut, MinutesRecord, PersonRecord
from server.notify import notifications
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.shapes import iso, iso_or_none
from server.timeutil import today_local
from server.webhooks import service as webhooks

# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """A person's copy with what they may do with it, and the corrections they may see."""

    copy: MinutesCopy
    corrections: list[CorrectionOut]
    can_correct: bool
    can_approve: bool
    approved_by: PersonRecord | None


async def _attended(session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await session.get(Attendance, (meeting_id, user_id)) is not None


async def corrections_of(session: AsyncSession, meeting_id: uuid.UUID, *, family_view: bool) -> list[CorrectionOut]:
    """The corrections, oldest first. The family sees those the family made (on items they can
    see): a professional's correction may speak of what is for professionals only."""
    rows = await session.execute(
        select(MinutesCorrection, User, AgendaItem, CaseMember.role)
        .join(User, User.id == MinutesCorrection.author_id)
        .join(Meeting, Meeting.id == MinutesCorrection.meeting_id)
        .outerjoin(AgendaItem, AgendaItem.id == MinutesCorrection.agenda_item_id)
        .outerjoin(CaseMember, (CaseMember.case_id == Meeting.case_id) & (CaseMember.user_id == User.id))
        .where(MinutesCorrection.meeting_id == meeting_id)
        .order_by(MinutesCorrection.created_at, MinutesCorrection.id)
    )
    result = []
    for correction, author, item, role in rows:
        if family_view and (role != CaseRole.FAMILY or (item is not None and item.professionals_only)):
            continue
        result.append(
            CorrectionOut(
                id=correction.id,
                author=PersonRecord(id=author.id, name=author.name, agency=author.agency.name),
                agenda_item_id=correction.agenda_item_id,
                agenda_item=None if item is None else item.title,
                text=correction.text,
                state=correction.state,
                reply=correction.reply,
                created_at=iso(correction.created_at),
                resolved_at=iso_or_none(correction.resolved_at),
            )
        )
    return result


async def reading(caller: Caller, meeting_id: uuid.UUID, *, via: str = "page", audited: bool = True) -> Reading:
    """``audited=False`` for the answer to a change, which is audited as that change."""
    session, user = caller.db, caller.user
    copy = await minutes_for(caller, meeting_id, via=via, audited=audited)
    family_view = copy.audience == "family"
    async with transaction(session):
        corrections = await corrections_of(session, meeting_id, family_view=family_view)
        review = copy.review
        draft = review is not None and review.status == MinutesStatus.DRAFT
        can_correct = (
            draft
            and review is not None
            and rules.may_correct(review.status, review.draft_until, today_local())
            and await _attended(session, meeting_id, user.id)
        )
        approver = None
        if review is not None and review.approved_by_id is not None:
            person = await session.get(User, review.approved_by_id)
            if person is not None:
                approver = PersonRecord(id=person.id, name=person.name, agency=person.agency.name)
    return Reading(copy, corrections, bool(can_correct), draft and copy.visible.is_chair, approver)


def answer(found: Reading) -> MinutesOut:
    copy, review = found.copy, found.copy.review
    return MinutesOut(
        audience=copy.audience,
        issued_at=iso(copy.issued_at),
        snapshot=msgspec.convert(copy.snapshot, MinutesRecord),
        status=copy.status,
        draft_until=None if review is None else review.draft_until,
        approved_at=None if review is None else iso_or_none(review.approved_at),
        approved_by=found.approved_by,
        corrections=found.corrections,
        can_correct=found.can_correct,
        can_approve=found.can_approve,
    )


# --- changes -------------------------------------------------------------------------------------


async def _locked_review(session: AsyncSession, meeting_id: uuid.UUID) -> MinutesReview:
    review = await session.scalar(
        select(MinutesReview)
        .where(MinutesReview.meeting_id == meeting_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if review is None:
        raise Conflict("There are no minutes yet: they are drafted when the meeting ends.", code="minutes_not_drafted")
    return review


def _still_draft(review: MinutesReview) -> None:
    if review.status != MinutesStatus.DRAFT:
        raise Conflict("The minutes have been approved: they can no longer change.", code="minutes_approved")


async def _as_chair(session: AsyncSession, user: User, meeting_id: uuid.UUID) -> VisibleMeeting:
    visible = await visible_meeting(session, user, meeting_id)
    if not visible.is_chair:
        raise Forbidden("Only the meeting's chair can do this.", code="not_chair")
    return visible


async def _chair_on_draft(
    session: AsyncSession, user: User, meeting_id: uuid.UUID
) -> tuple[VisibleMeeting, MinutesReview]:
    """The meeting, for its chair, and its review, locked, while the minutes are still a draft."""
    visible = await _as_chair(session, user, meeting_id)
    review = await _locked_review(session, meeting_id)
    _still_draft(review)
    return visible, review


async def correct(
    caller: Caller, meeting_id: uuid.UUID, *, text: str, agenda_item_id: uuid.UUID | None = None
) -> CorrectionOut:
    """An attendee's correction of the draft, while it is open (until ``draft_until``)."""
    session, actor, user = caller.db, caller.actor, caller.user
    text = text.strip()
    if not text:
        raise Invalid("Write what should be corrected.", field="text", code="required")
    if message := too_long(text, NOTE, "the correction"):
        raise Invalid(message, field="text", code="too_long")
    async with transaction(session):
        visible = await visible_meeting(session, user, meeting_id)
        review = await _locked_review(session, meeting_id)
        _still_draft(review)
        if not await _attended(session, meeting_id, user.id):
            raise Forbidden("Only those who attended the meeting can correct its minutes.", code="not_an_attendee")
        if not rules.may_correct(review.status, review.draft_until, today_local()):
            raise Conflict(
                f"Corrections closed on {review.draft_until:%-d %B %Y}: please speak to the chair.",
                code="corrections_closed",
            )
        item = None
        if agenda_item_id is not None:
            item = await session.get(AgendaItem, agenda_item_id)
            hidden = item is not None and item.professionals_only and visible.case.access.is_family
            if item is None or item.meeting_id != meeting_id or hidden:
                raise Invalid("Choose an item of this meeting's agenda.", field="agenda_item_id", code="unknown_item")
        correction = MinutesCorrection(
            meeting_id=meeting_id, author_id=user.id, agenda_item_id=agenda_item_id, text=text
        )
        session.add(correction)
        await session.flush()
        record_meeting(
            session,
            actor,
            "minutes.correct",
            visible.meeting,
            correction_id=correction.id,
            agenda_item_id=agenda_item_id,
        )
        if visible.meeting.chair_id != user.id:
            notifications.add(
                session,
                notifications.Note(
                    user_id=visible.meeting.chair_id,
                    kind="minutes_correction",
                    title=f"{user.name} sent a correction to the minutes of {visible.meeting.title}",
                    link=f"/meetings/{meeting_id}/minutes/review",
                    case_id=visible.meeting.case_id,
                ),
            )
    found = await corrections_of(session, meeting_id, family_view=False)
    return next(c for c in found if c.id == correction.id)


async def edit_item(caller: Caller, meeting_id: uuid.UUID, item_id: uuid.UUID, *, text: str) -> None:
    """The chair rewrites an item's minutes in the draft (after reading the corrections)."""
    session, actor, user = caller.db, caller.actor, caller.user
    if message := too_long(text, NOTE * 4, "the minutes of one item"):
        raise Invalid(message, field="text", code="too_long")
    async with transaction(session):
        visible, _ = await _chair_on_draft(session, user, meeting_id)
        item = await of_meeting(session, AgendaItem, item_id, meeting_id, missing="No such agenda item.")
        if item.minutes == text.strip():
            return
        item.minutes = text.strip()
        record_meeting(session, actor, "minutes.edit", visible.meeting, about=("agenda_item", item_id))


async def resolve(
    caller: Caller, meeting_id: uuid.UUID, correction_id: uuid.UUID, *, state: str, reply: str = ""
) -> None:
    """The chair marks a correction applied or not applied, with a reply its author will read."""
    session, actor, user = caller.db, caller.actor, caller.user
    problems: dict[str, str] = {}
    if state not in (CorrectionState.APPLIED, CorrectionState.NOT_APPLIED):
        problems["state"] = Problem(
            "Choose whether the correction was applied (applied or not_applied).", "unknown_state"
        )
    if message := too_long(reply, REASON, "the reply"):
        problems["reply"] = Problem(message, "too_long")
    if problems:
        raise Problems(problems)
    async with transaction(session):
        visible, _ = await _chair_on_draft(session, user, meeting_id)
        correction = await of_meeting(
            session, MinutesCorrection, correction_id, meeting_id, missing="No such correction."
        )
        correction.state = state
        correction.reply = reply.strip()
        correction.resolved_at = utcnow()
        record_meeting(
            session, actor, "minutes.resolve_correction", visible.meeting, correction_id=correction_id, state=state
        )


async def approve(caller: Caller, meeting_id: uuid.UUID) -> None:
    """The chair approves the minutes: each audience's copy is frozen and e-mailed (page link and
    PDF) to everyone invited; minutes.approved goes to the webhooks; all in one transaction."""
    session, settings, actor, user = caller.db, caller.settings, caller.actor, caller.user
    async with transaction(session):
        visible, review = await _chair_on_draft(session, user, meeting_id)
        now = utcnow()
        review.status = MinutesStatus.APPROVED
        review.approved_at = now
        review.approved_by_id = user.id
        await session.flush()
        await issue_minutes(session, settings, meeting_id)
        await webhooks.minutes_approved(session, visible.meeting, now, user.id)
        record_meeting(
            session,
            actor,
            "minutes.approve",
            visible.meeting,
            on_time=today_local(now)
            <= rules.escalate_on(
                today_local(review.drafted_at), settings.minutes_escalate_working_days, settings.chase
            ),
        )
