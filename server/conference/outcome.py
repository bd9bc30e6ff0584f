"""The outcome of an initial or review child protection conference: a plan or not, its
categories, the reasons, and each agency's view, dissent with its reason.

Recorded by the chair while the conference is live or just after it ended (the chair may write
it up straight after closing the room), and recorded again to correct it. Recorded after the end,
the outcome letter is sent again with it to everyone invited (``minutes.letter.amend_letters``).
Other kinds of meeting have no outcome: the call is refused with ``not_a_conference``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated

import msgspec
from sqlalchemy import select

from server.cases.models import CaseMember
from server.conference.models import ConferenceOutcome, OutcomeView
from server.conference.rules import CONFERENCE_KINDS, AgencyView, OutcomeProblem, check_outcome
from server.conference.shapes import OutcomeOut, outcome_out
from server.errors import Conflict, Invalid
from server.meetings.changes import ChangeKind
from server.meetings.commands import Ctx, Who, command
from server.meetings.models import MeetingKind, MeetingStatus
from server.minutes.letter import amend_letters
from server.people.models import User
from server.platform.db import utcnow
from server.web.form_bodies import body_from_form

REASONS_MAX = 5000  # under the form reader's 10,000, so a form can be told it is too long
JUST_ENDED = timedelta(days=2)  # how long after the end the chair may still record the outcome
LIVE_OR_ENDED = frozenset({MeetingStatus.LIVE, MeetingStatus.ENDED})


class ViewBody(msgspec.Struct):
    agency_id: uuid.UUID
    view: Annotated[str, msgspec.Meta(max_length=16)]
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class NewOutcome(msgspec.Struct):
    plan: bool
    reasons: Annotated[str, msgspec.Meta(max_length=REASONS_MAX)]
    category: (
        Annotated[str, msgspec.Meta(max_length=32)]
        | Annotated[list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(max_length=4)]
        | None
    ) = None
    views: Annotated[list[ViewBody], msgspec.Meta(max_length=100)] = []

    @property
    def categories(self) -> list[str]:
        if self.category is None:
            return []
        return [self.category] if isinstance(self.category, str) else list(self.category)


OUTCOME_MESSAGES = {
    "plan": "Say whether the child needs a child protection plan.",
    "reasons": f"Give the reasons, in up to {REASONS_MAX:,} characters.",
    "views": "Each agency's view is plan or no plan, with a reason where it differs.",
}


def outcome_from_form(data: Mapping[str, str]) -> NewOutcome:
    """The form sends ``plan`` (yes/no), a checkbox ``category-<name>`` per category, and per
    agency ``view-<agency id>`` with ``reason-<agency id>``."""
    views = [
        {"agency_id": key.removeprefix("view-"), "view": value, "reason": data.get(f"reason-{key[5:]}", "")}
        for key, value in data.items()
        if key.startswith("view-") and value
    ]
    categories = [key.removeprefix("category-") for key in data if key.startswith("category-")]
    body = body_from_form(  # the lengths first, so that an over-long field is named
        NewOutcome,
        {"reasons": data.get("reasons", "")},
        OUTCOME_MESSAGES,
        extra={"plan": data.get("plan") == "yes", "category": categories, "views": views},
    )
    if data.get("plan") not in ("yes", "no"):
        raise Invalid("Say whether the child needs a child protection plan.", field="plan", code="plan_missing")
    return body


@command(
    "POST", "/outcome", who=Who.CHAIR, when=LIVE_OR_ENDED, change=ChangeKind.OUTCOME, audit="outcome.record",
    done="Outcome recorded.", status_code=201, form=outcome_from_form, messages=OUTCOME_MESSAGES,
)  # fmt: skip
async def record_outcome(ctx: Ctx, body: NewOutcome) -> OutcomeOut:
    """Record the conference's outcome: a plan or not, its categories, the reasons and each
    agency's view; a view that differs from the decision is dissent and needs its reason (the
    chair, in a live or just-ended initial or review conference; again to correct it)."""
    meeting = ctx.meeting
    if meeting.kind not in CONFERENCE_KINDS:
        raise Conflict("Only an initial or review child protection conference has an outcome.", code="not_a_conference")
    if meeting.status == MeetingStatus.ENDED and (meeting.ended_at is None or utcnow() - meeting.ended_at > JUST_ENDED):
        raise Conflict("The outcome is recorded in the conference or within two days of its end.", code="too_late")
    team = await ctx.session.scalars(
        select(User.agency_id)
        .join(CaseMember, CaseMember.user_id == User.id)
        .where(CaseMember.case_id == meeting.case_id)
    )
    views = [AgencyView(v.agency_id, v.view, (v.reason or "").strip()) for v in body.views]
    try:
        categories = check_outcome(body.plan, body.categories, body.reasons, views, set(team))
    except OutcomeProblem as problem:
        raise Invalid(problem.message, field=problem.field, code=problem.code) from None
    outcome = await ctx.session.get(ConferenceOutcome, meeting.id)
    corrected = outcome is not None
    if outcome is None:
        outcome = ConferenceOutcome(meeting_id=meeting.id, plan=body.plan)
        ctx.session.add(outcome)
    outcome.plan, outcome.categories, outcome.reasons = body.plan, categories, body.reasons.strip()
    recorded_at = utcnow()
    outcome.recorded_at, outcome.recorded_by_id = recorded_at, ctx.user.id
    outcome.views = [OutcomeView(agency_id=v.agency_id, view=v.view, reason=v.reason) for v in views]
    await ctx.session.flush()
    await ctx.session.refresh(outcome, ["views"])
    ended = meeting.status == MeetingStatus.ENDED
    amended = ended and await amend_letters(ctx.session, ctx.settings, meeting.id, recorded_at)
    ctx.about(
        "meeting",
        meeting.id,
        plan=body.plan,
        categories=categories,
        dissent=sum(1 for v in views if v.view != ("plan" if body.plan else "no_plan")),
        corrected=corrected,
        letter_amended=amended,
    )
    return outcome_out(outcome, review=meeting.kind == MeetingKind.REVIEW_CONFERENCE)
