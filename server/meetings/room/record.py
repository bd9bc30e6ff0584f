"""What the meeting records: decisions with each agency's position, and actions with an owner,
an agency and a due date."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Annotated

import msgspec
from sqlalchemy import select

from server import limits
from server.actions.assignment import notify_assigned
from server.actions.models import Action, ActionEvent, OutcomeArea
from server.actions.shapes import ActionOut, action_json
from server.cases.models import CaseMember, CaseRole
from server.cases.service import role_of
from server.errors import Invalid, Problem, Problems
from server.limits import too_long
from server.meetings.changes import ChangeKind
from server.meetings.commands import LIVE, Ctx, Who, command
from server.meetings.models import AgendaItem, Decision, DecisionPosition, Outcome, Position
from server.meetings.shapes import decision_out
from server.people.models import User
from server.timeutil import today_local
from server.web.form_bodies import body_from_form
from server.webhooks import service as webhooks
from server.written import chosen, written

DECISION_MAX = 5000
ACTION_MAX = 2000
DECISION_WORDS = "Write the decision, in up to 5,000 characters."
OUTCOME_WORDS = "outcome must be agreed, not_agreed or deferred."
TITLE_WORDS = "Say what is to be done, in up to 2,000 characters."
AREA_WORDS = "Choose an outcome area from the list."
REASON_MAX = limits.REASON


class PositionBody(msgspec.Struct):
    agency_id: uuid.UUID
    position: Annotated[str, msgspec.Meta(max_length=16)]
    reason: Annotated[str, msgspec.Meta(max_length=REASON_MAX)] | None = None


class NewDecision(msgspec.Struct):
    agenda_item_id: uuid.UUID
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=DECISION_MAX)]
    outcome: Annotated[str, msgspec.Meta(max_length=16)]
    positions: Annotated[list[PositionBody], msgspec.Meta(max_length=100)] = []


class NewAction(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=ACTION_MAX)]
    owner_id: uuid.UUID
    due_date: date
    outcome_area: Annotated[str, msgspec.Meta(max_length=32)]
    agenda_item_id: uuid.UUID | None = None
    decision_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None


async def _team_agencies(ctx: Ctx) -> set[uuid.UUID]:
    rows = await ctx.session.scalars(
        select(User.agency_id)
        .join(CaseMember, CaseMember.user_id == User.id)
        .where(CaseMember.case_id == ctx.meeting.case_id)
    )
    return set(rows)


def _check_positions(positions: list[PositionBody]) -> set[uuid.UUID]:
    seen: set[uuid.UUID] = set()
    for p in positions:
        if p.position not in Position.__members__.values():
            raise Invalid(
                "Each position must be agree, disagree or abstain.", field="positions", code="unknown_position"
            )
        if p.position == Position.DISAGREE and not (p.reason or "").strip():
            raise Invalid(
                "Give the reason for each disagreement, so dissent is on the record.",
                field="positions",
                code="dissent_without_reason",
            )
        if p.agency_id in seen:
            raise Invalid("Give one position for each agency.", field="positions", code="duplicate_position")
        seen.add(p.agency_id)
    return seen


DECISION_MESSAGES = {
    "agenda_item_id": "Open the agenda item the decision is about.",
    "text": "Write the decision, in up to 5,000 characters.",
    "positions": "Positions must name an agency, with agree, disagree or abstain.",
}
ACTION_MESSAGES = {
    "title": "Say what is to be done, in up to 2,000 characters.",
    "owner_id": "Choose who owns the action.",
    "due_date": "Enter the due date as a date, for example 2026-05-01.",
    "agenda_item_id": "Choose an agenda item of this meeting.",
    "decision_id": "Choose a decision of this meeting.",
    "agency_id": "Choose one of the team's agencies.",
}


def decision_from_form(data: Mapping[str, str]) -> NewDecision:
    """Agency positions come as fields ``position-<agency id>`` and ``reason-<agency id>``; an
    agency left without a choice records no position. A reason is never dropped silently: one
    given without a position, or too long, is refused beside its field, and so is a disagreement
    without its reason."""
    positions = []
    problems: dict[str, str] = {}
    for key, reason in data.items():
        if not key.startswith("reason-"):
            continue
        agency = key.removeprefix("reason-")
        if long := too_long(reason, REASON_MAX, "the reason"):
            problems[key] = Problem(long, "too_long")
        elif reason and not data.get(f"position-{agency}"):
            problems[key] = Problem(
                "Choose the agency's position for this reason, or clear the reason.", "reason_without_position"
            )
    for key, value in data.items():
        if not key.startswith("position-") or not value:
            continue
        agency = key.removeprefix("position-")
        reason = data.get(f"reason-{agency}", "")
        if value == Position.DISAGREE and not reason.strip():
            problems[f"reason-{agency}"] = Problem(
                "Give the reason for this disagreement, so dissent is on the record.", "dissent_without_reason"
            )
        positions.append({"agency_id": agency, "position": value, "reason": reason})
    if problems:
        raise Problems(problems)
    fields = {
        "agenda_item_id": data.get("agenda_item_id", ""),
        "text": data.get("text", ""),
        "outcome": data.get("outcome", ""),
    }
    return body_from_form(NewDecision, fields, DECISION_MESSAGES, extra={"positions": positions})


def _action_out(action: Action) -> ActionOut:
    return action_json(action, today_local())


@command(
    "POST", "/decisions", who=Who.CHAIR, when=LIVE, change=ChangeKind.DECISION, audit="decision.record",
    done="Decision recorded.", answer=decision_out, status_code=201, form=decision_from_form,
)  # fmt: skip
async def record_decision(ctx: Ctx, body: NewDecision) -> Decision:
    """Record a decision on an agenda item, with each agency's position (the chair)."""
    text = written(body.text, most=DECISION_MAX, field="text", code="text_missing", words=DECISION_WORDS)
    chosen(body.outcome, Outcome, field="outcome", code="unknown_outcome", words=OUTCOME_WORDS)
    agencies = _check_positions(body.positions)
    item = await ctx.session.get(AgendaItem, body.agenda_item_id)
    if item is None or item.meeting_id != ctx.meeting.id:
        raise Invalid("Choose an agenda item of this meeting.", field="agenda_item_id", code="unknown_item")
    if not agencies <= await _team_agencies(ctx):
        raise Invalid(
            "Positions can only be given for agencies on the case's team.", field="positions", code="not_on_team"
        )
    decision = Decision(
        meeting_id=ctx.meeting.id, agenda_item_id=item.id, text=text, outcome=body.outcome, recorded_by_id=ctx.user.id
    )
    decision.positions = [
        DecisionPosition(agency_id=p.agency_id, position=p.position, reason=(p.reason or "").strip())
        for p in body.positions
    ]
    ctx.session.add(decision)
    await ctx.session.flush()
    await ctx.session.refresh(decision, ["positions"])  # with their agencies, for the answer
    ctx.about("decision", decision.id, outcome=body.outcome, positions=len(body.positions))
    return decision


@command(
    "POST", "/actions", who=Who.CHAIR, when=LIVE, change=ChangeKind.ACTION, audit="action.assign",
    done="Action assigned.", answer=_action_out, status_code=201, messages=ACTION_MESSAGES,
)  # fmt: skip
async def assign_action(ctx: Ctx, body: NewAction) -> Action:
    """Assign an action with an owner, an agency and a due date (the chair)."""
    title = written(body.title, most=ACTION_MAX, field="title", code="title_missing", words=TITLE_WORDS)
    chosen(body.outcome_area, OutcomeArea, field="outcome_area", code="unknown_outcome_area", words=AREA_WORDS)
    if body.due_date < today_local():
        raise Invalid("The due date cannot be in the past.", field="due_date", code="due_date_in_past")
    owner_role = await role_of(ctx.session, ctx.meeting.case_id, body.owner_id)
    if owner_role is None:
        raise Invalid("The owner must be on the case's team.", field="owner_id", code="not_on_team")
    owner = await ctx.session.get(User, body.owner_id)
    assert owner is not None
    agency_id = body.agency_id or owner.agency_id
    if agency_id not in await _team_agencies(ctx):
        raise Invalid("The agency must be one on the case's team.", field="agency_id", code="not_on_team")
    item_id, pro_only = await _action_item(ctx, body)
    if pro_only and owner_role == CaseRole.FAMILY:
        raise Invalid(
            "An action under a professionals-only item must be owned by a professional: the family cannot see it.",
            field="owner_id",
            code="family_cannot_see",
        )
    action = Action(
        case_id=ctx.meeting.case_id,
        meeting_id=ctx.meeting.id,
        agenda_item_id=item_id,
        decision_id=body.decision_id,
        title=title,
        owner_id=owner.id,
        agency_id=agency_id,
        due_date=body.due_date,
        outcome_area=body.outcome_area,
        professionals_only=pro_only,
        created_by_id=ctx.user.id,
    )
    ctx.session.add(action)
    await ctx.session.flush()
    ctx.session.add(
        ActionEvent(
            action_id=action.id,
            actor_id=ctx.user.id,
            kind="created",
            to_value=body.due_date.isoformat(),
            note=f"Agreed in {ctx.meeting.title}",
        )
    )
    await ctx.session.refresh(action, ["owner", "agency"])
    await webhooks.action_created(ctx.session, action)
    if await notify_assigned(ctx.session, ctx.settings, action, by=ctx.user.id):
        ctx.notified.add(action.owner_id)
    ctx.about("action", action.id, owner=owner.id, due_date=body.due_date)
    return action


async def _action_item(ctx: Ctx, body: NewAction) -> tuple[uuid.UUID | None, bool]:
    """The agenda item an action sits under (from the decision when given), and whether that
    makes it professionals-only."""
    item_id = body.agenda_item_id
    if body.decision_id is not None:
        decision = await ctx.session.get(Decision, body.decision_id)
        if decision is None or decision.meeting_id != ctx.meeting.id:
            raise Invalid("Choose a decision of this meeting.", field="decision_id", code="unknown_decision")
        item_id = item_id or decision.agenda_item_id
    if item_id is None:
        item_id = ctx.meeting.open_item_id
    if item_id is None:
        return None, False
    item = await ctx.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != ctx.meeting.id:
        raise Invalid("Choose an agenda item of this meeting.", field="agenda_item_id", code="unknown_item")
    return item.id, item.professionals_only
