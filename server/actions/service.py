"""Reading and changing actions. Every change is kept as history on the action."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server import limits
from server.actions.assignment import notify_assigned
from server.actions.chase import DUE_DATE_LEDGER_STAGES, Recipient
from server.actions.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Acceptance,
    Action,
    ActionEvent,
    ActionStatus,
    ReminderLedger,
)

# The action plan and its filters live in plan.py; these names are the service's public face.
from server.actions.plan import PlanFilter as PlanFilter
from server.actions.plan import action_plan as action_plan
from server.actions.plan import api_filter as api_filter
from server.actions.plan import plan_csv as plan_csv
from server.audit.service import Actor, record
from server.cases.models import Case, CaseMember, CaseRole
from server.cases.service import VisibleCase, role_of, visible_row
from server.config import Settings
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.limits import too_long
from server.live.events import MeetingChanged, Publisher
from server.meetings.versions import bump_rooms_showing_action, publish
from server.notify.notifications import Note, add
from server.notify.outbox import Email, enqueue
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.webhooks import service as webhooks


async def open_actions_of_owner(session: AsyncSession, owner_id: uuid.UUID) -> Sequence[Action]:
    """The owner's open actions on the cases they are still on; a family member's leave out
    professionals-only ones (even if given to them), as everywhere else."""
    query = (
        select(Action)
        .join(CaseMember, (CaseMember.case_id == Action.case_id) & (CaseMember.user_id == owner_id))
        .where(Action.owner_id == owner_id, Action.status.in_(OPEN_STATUSES))
        .where(or_(Action.professionals_only.is_(False), CaseMember.role != CaseRole.FAMILY))
        .order_by(Action.due_date, Action.created_at)
    )
    return (await session.scalars(query)).all()


# --- changing an action after the meeting -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionChange:
    """One request to change an action; several fields may change together, each with history."""

    status: str | None = None
    acceptance: str | None = None
    due_date: date | None = None
    owner_id: uuid.UUID | None = None
    progress_note: str | None = None
    reason: str | None = None
    snoozed_until: date | None = None


@dataclass(frozen=True, slots=True)
class ActionRoles:
    """What the person is to the action, which decides what they may change: the owner accepts,
    declines or snoozes it; the chair and the lead professional manage it (its due date, its
    owner, cancelling it)."""

    is_owner: bool
    is_chair: bool
    is_lead: bool

    @property
    def manages(self) -> bool:
        return self.is_chair or self.is_lead


async def action_roles(session: AsyncSession, action: Action, user: User) -> ActionRoles:
    case = await session.get(Case, action.case_id)
    assert case is not None
    role = await role_of(session, action.case_id, user.id)
    return ActionRoles(
        is_owner=action.owner_id == user.id,
        is_chair=role == CaseRole.CHAIR,
        is_lead=case.lead_professional_id == user.id,
    )


async def visible_action(session: AsyncSession, user: User, action_id: uuid.UUID) -> tuple[Action, VisibleCase]:
    action, visible = await visible_row(session, user, Action, action_id, missing="No such action.")
    if action.professionals_only and not visible.access.sees_professionals_only:
        raise NotFound("No such action.")
    return action, visible


async def history(session: AsyncSession, action_id: uuid.UUID) -> Sequence[ActionEvent]:
    query = select(ActionEvent).where(ActionEvent.action_id == action_id).order_by(ActionEvent.created_at)
    return (await session.scalars(query)).all()


def _need_reason(change: ActionChange, what: str) -> str:
    reason = (change.reason or "").strip()
    if not reason:
        raise Invalid(f"Give a reason when you {what}.", field="reason", code="reason_required")
    if len(reason) > 2000:
        raise Invalid("Keep the reason to 2,000 characters.", field="reason", code="too_long")
    return reason


@dataclass(frozen=True, slots=True)
class Tell:
    """A message for a group of people: "lead", "managers" (the lead and the case's chairs, for
    declines and blocks) or one named user."""

    to: str | uuid.UUID
    kind: str
    title: str
    body: str


@dataclass
class _Outcome:
    """What a change leads to: its history entries, and whom to tell."""

    tell: list[Tell] = field(default_factory=list)
    told: list[Note] = field(default_factory=list)
    new_owner_reason: str | None = None  # the action changed hands: its new owner is asked to accept it
    events: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)

    def event(self, kind: str, before: str | None, after: str | None, note: str = "") -> None:
        self.events.append((kind, before, after, note))


STATUS_RULES: dict[str, str] = {
    # the status asked for -> who may set it ("owner", "manager" = chair or lead, "any")
    ActionStatus.IN_PROGRESS: "owner_or_manager",
    ActionStatus.DONE: "owner_or_manager",
    ActionStatus.NOT_ACHIEVED: "owner_or_manager",
    ActionStatus.BLOCKED: "owner_or_manager",
    ActionStatus.OPEN: "owner_or_manager",
    ActionStatus.CANCELLED: "manager",
}


async def change_action(
    session: AsyncSession,
    publisher: Publisher,
    settings: Settings,
    actor: Actor,
    user: User,
    action_id: uuid.UUID,
    change: ActionChange,
    *,
    today: date,
) -> Action:
    """Apply one change to an action, keep its history, and tell the right people at once."""
    if message := too_long((change.reason or "").strip(), limits.REASON, "the reason"):
        raise Invalid(message, field="reason")  # whatever the change: typed words are never dropped silently
    async with transaction(session):
        action, visible = await visible_action(session, user, action_id)
        rooms = await bump_rooms_showing_action(session, action.case_id, action.meeting_id)
        await session.execute(select(Action.id).where(Action.id == action.id).with_for_update())
        await session.refresh(action)
        roles = await action_roles(session, action, user)
        if not (roles.is_owner or roles.manages):
            raise Forbidden(
                "Only the action's owner, the case's chair or the lead professional can change it.",
                code="not_owner_chair_or_lead",
            )
        case = visible.case
        outcome = _Outcome()
        if change.acceptance is not None:
            _accept_or_decline(action, roles, change, outcome)
        if change.status is not None:
            _set_status(action, roles, change, outcome)
        if change.due_date is not None and change.due_date != action.due_date:
            await _move_due_date(session, action, roles, change, outcome, today)
        if change.owner_id is not None and change.owner_id != action.owner_id:
            await _change_owner(session, action, roles, change, outcome)
        if change.snoozed_until is not None:
            _snooze(action, roles, change, outcome, today)
        if change.progress_note is not None:
            note = change.progress_note.strip()
            if not note or len(note) > 5000:
                raise Invalid("Write a progress note of up to 5,000 characters.", field="progress_note")
            outcome.event("progress_note", None, None, note)
        if not outcome.events:
            raise Invalid(
                "Nothing to change: give a status, a due date, an owner or a progress note.", code="nothing_to_change"
            )
        for kind, before, after, note in outcome.events:
            session.add(
                ActionEvent(
                    action_id=action.id, actor_id=user.id, kind=kind, from_value=before, to_value=after, note=note
                )
            )
        await _tell(session, settings, case, action, user, outcome)
        if outcome.new_owner_reason is not None:
            assigned = await notify_assigned(session, settings, action, by=user.id, reason=outcome.new_owner_reason)
            outcome.told += [assigned] if assigned else []
        await webhooks.action_updated(session, action, [kind for kind, *_ in outcome.events])
        record(
            session,
            actor,
            "action.change",
            "action",
            action.id,
            case_id=action.case_id,
            changes=[e[0] for e in outcome.events],
        )
    await _after_commit(publisher, session, action, outcome, rooms)
    return action


def _accept_or_decline(action: Action, roles: ActionRoles, change: ActionChange, outcome: _Outcome) -> None:
    if not roles.is_owner:
        raise Forbidden("Only the owner can accept or decline an action.", code="not_owner")
    if change.acceptance == Acceptance.ACCEPTED:
        outcome.event("accepted", action.acceptance, Acceptance.ACCEPTED)
        action.acceptance = Acceptance.ACCEPTED
    elif change.acceptance == Acceptance.DECLINED:
        reason = _need_reason(change, "decline an action")
        outcome.event("declined", action.acceptance, Acceptance.DECLINED, reason)
        action.acceptance = Acceptance.DECLINED
        action.declined_count += 1
        outcome.tell.append(Tell("managers", "action_declined", f"Action declined: {action.title}", reason))
    else:
        raise Invalid("acceptance must be accepted or declined.", field="acceptance", code="unknown_acceptance")


def _set_status(action: Action, roles: ActionRoles, change: ActionChange, outcome: _Outcome) -> None:
    status = change.status
    if status not in STATUS_RULES:
        raise Invalid(
            "status must be open, in_progress, done, not_achieved, blocked or cancelled.",
            field="status",
            code="unknown_status",
        )
    if STATUS_RULES[status] == "manager" and not roles.manages:
        raise Forbidden("Only the chair or the lead professional can cancel an action.", code="not_chair_or_lead")
    if status == action.status:
        return
    note = ""
    if status in (ActionStatus.NOT_ACHIEVED, ActionStatus.BLOCKED, ActionStatus.CANCELLED):
        note = _need_reason(
            change,
            {
                "not_achieved": "close an action as not achieved",
                "blocked": "mark an action blocked",
                "cancelled": "cancel an action",
            }[status],
        )
        action.status_reason = note
    outcome.event("status", action.status, status, note)
    action.status = status
    action.closed_at = utcnow() if status in CLOSED_STATUSES else None
    if status == ActionStatus.BLOCKED:
        action.blocked_count += 1
        outcome.tell.append(Tell("managers", "action_blocked", f"Action blocked: {action.title}", note))


async def _move_due_date(
    session: AsyncSession, action: Action, roles: ActionRoles, change: ActionChange, outcome: _Outcome, today: date
) -> None:
    if not roles.manages:
        raise Forbidden("Only the chair or the lead professional can change the due date.", code="not_chair_or_lead")
    if change.due_date is None or change.due_date < today:
        raise Invalid("The new due date cannot be in the past.", field="due_date", code="due_date_in_past")
    reason = _need_reason(change, "change the due date")
    outcome.event("due_date", action.due_date.isoformat(), change.due_date.isoformat(), reason)
    action.due_date = change.due_date
    # The reminders already sent were for the old date: the chase starts afresh for the new one.
    await session.execute(
        delete(ReminderLedger).where(
            ReminderLedger.action_id == action.id, ReminderLedger.stage.in_(DUE_DATE_LEDGER_STAGES)
        )
    )


async def _change_owner(
    session: AsyncSession, action: Action, roles: ActionRoles, change: ActionChange, outcome: _Outcome
) -> None:
    if not roles.manages:
        raise Forbidden("Only the chair or the lead professional can change the owner.", code="not_chair_or_lead")
    assert change.owner_id is not None
    if await role_of(session, action.case_id, change.owner_id) is None:
        raise Invalid("The new owner must be on the case's team.", field="owner_id", code="not_on_team")
    owner = await session.get(User, change.owner_id)
    assert owner is not None
    reason = _need_reason(change, "change the owner")
    outcome.event("owner", str(action.owner_id), str(owner.id), reason)
    action.owner_id, action.agency_id = owner.id, owner.agency_id
    action.acceptance = Acceptance.PENDING
    action.snoozed_until = action.snooze_reason = None
    outcome.new_owner_reason = reason


def _snooze(action: Action, roles: ActionRoles, change: ActionChange, outcome: _Outcome, today: date) -> None:
    """The owner may hold their reminders once, with a reason, for at most two weeks."""
    if not roles.is_owner:
        raise Forbidden("Only the owner can snooze their reminders.", code="not_owner")
    if action.snooze_reason is not None:
        raise Conflict("Reminders for this action have already been snoozed once.", code="already_snoozed")
    until = change.snoozed_until
    assert until is not None
    if not today < until <= today + timedelta(days=14):
        raise Invalid(
            "Snooze until a date within the next two weeks.", field="snoozed_until", code="snooze_out_of_range"
        )
    reason = _need_reason(change, "snooze the reminders")
    outcome.event("snoozed", None, until.isoformat(), reason)
    action.snoozed_until, action.snooze_reason = until, reason
    outcome.tell.append(
        Tell("lead", "action_snoozed", f"Reminders snoozed: {action.title}", f"Until {until:%-d %b}: {reason}")
    )


async def _tell(
    session: AsyncSession, settings: Settings, case: Case, action: Action, actor_user: User, outcome: _Outcome
) -> None:
    """Write the notifications and e-mail of this change. Declines and blocks go to the lead
    professional and the chairs at once, and are recorded in the chase ledger so that the worker
    does not send them again."""
    chairs = list(
        await session.scalars(
            select(CaseMember.user_id).where(CaseMember.case_id == case.id, CaseMember.role == CaseRole.CHAIR)
        )
    )
    for tell in outcome.tell:
        if tell.to == "managers":
            targets = [case.lead_professional_id, *chairs]
            await _ledger_event(session, action, tell.kind.removeprefix("action_"), case, chairs)
        elif tell.to == "lead":
            targets = [case.lead_professional_id]
        else:
            assert isinstance(tell.to, uuid.UUID)
            targets = [tell.to]
        for user_id in dict.fromkeys(targets):
            if user_id != actor_user.id:
                outcome.told.append(Note(user_id, tell.kind, tell.title, tell.body, f"/actions/{action.id}", case.id))
    for note in outcome.told:
        add(session, note)
        person = await session.get(User, note.user_id)
        if person is not None:
            await enqueue(session, settings, _email(settings, person, case, action, note), case_id=case.id)


async def _ledger_event(session: AsyncSession, action: Action, what: str, case: Case, chairs: list[uuid.UUID]) -> None:
    occurrence = action.declined_count if what == "declined" else action.blocked_count
    rows = [
        {
            "action_id": action.id,
            "stage": f"{what}:{Recipient.LEAD}",
            "occurrence": occurrence,
            "recipient_id": case.lead_professional_id,
            "recipient_role": Recipient.LEAD,
        },
    ] + [
        {
            "action_id": action.id,
            "stage": f"{what}:{Recipient.CHAIR}",
            "occurrence": occurrence,
            "recipient_id": chair,
            "recipient_role": Recipient.CHAIR,
        }
        for chair in chairs[:1]
    ]
    await session.execute(pg_insert(ReminderLedger).values(rows).on_conflict_do_nothing())


def _email(settings: Settings, person: User, case: Case, action: Action, note: Note) -> Email:
    """The e-mail of a notification; for a professionals-only action, a link and nothing of its content."""
    link = f"{settings.base_url}{note.link}" if note.link else settings.base_url
    if action.professionals_only:
        subject = f"A professionals-only action has changed — case {case.reference}"
        return Email([person.email], subject, f"{subject}.\n\nRead it in Roundtable: {link}\n")
    return Email([person.email], note.title, f"{note.title}\n\n{note.body}\n\nOpen it in Roundtable: {link}\n")


async def _after_commit(
    publisher: Publisher, session: AsyncSession, action: Action, outcome: _Outcome, rooms: list[MeetingChanged]
) -> None:
    team = list(await session.scalars(select(CaseMember.user_id).where(CaseMember.case_id == action.case_id)))
    await publisher.users_changed(team, "actions")
    notified = {n.user_id for n in outcome.told}
    if notified:
        await publisher.users_changed(notified, "notification")
    await publish(publisher, rooms)
