"""How actions look in the JSON API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

import msgspec

from server.actions.models import OPEN_STATUSES, Action, ActionEvent
from server.people.shapes import AgencyOut, UserBrief, agency_json, user_brief
from server.shapes import Timestamp, iso


class ActionOut(msgspec.Struct):
    id: UUID
    case_id: UUID
    meeting_id: UUID | None
    agenda_item_id: UUID | None
    decision_id: UUID | None
    title: str
    owner_id: UUID
    owner: UserBrief
    agency_id: UUID
    agency: AgencyOut
    due_date: date
    outcome_area: str
    status: str
    acceptance: str
    overdue: bool
    created_at: Timestamp
    updated_at: Timestamp


class HistoryEntry(msgspec.Struct):
    kind: str
    from_value: str | None = msgspec.field(name="from")
    to_value: str | None = msgspec.field(name="to")
    note: str | None
    at: Timestamp
    by: UserBrief | None


class ActionDetail(ActionOut):
    """An action with why it stands as it does, and everything that happened to it."""

    status_reason: str | None
    snoozed_until: date | None
    snooze_reason: str | None
    history: list[HistoryEntry]


def is_overdue(action: Action, today: date) -> bool:
    return action.status in OPEN_STATUSES and action.due_date < today


def action_json(action: Action, today: date) -> ActionOut:
    return ActionOut(
        id=action.id,
        case_id=action.case_id,
        meeting_id=action.meeting_id,
        agenda_item_id=action.agenda_item_id,
        decision_id=action.decision_id,
        title=action.title,
        owner_id=action.owner_id,
        owner=user_brief(action.owner),
        agency_id=action.agency_id,
        agency=agency_json(action.agency),
        due_date=action.due_date,
        outcome_area=action.outcome_area,
        status=action.status,
        acceptance=action.acceptance,
        overdue=is_overdue(action, today),
        created_at=iso(action.created_at),
        updated_at=iso(action.updated_at),
    )


def detail_json(action: Action, events: Iterable[ActionEvent], today: date) -> ActionDetail:
    return ActionDetail(
        **msgspec.structs.asdict(action_json(action, today)),
        status_reason=action.status_reason or None,
        snoozed_until=action.snoozed_until,
        snooze_reason=action.snooze_reason,
        history=[
            HistoryEntry(
                kind=e.kind,
                from_value=e.from_value,
                to_value=e.to_value,
                note=e.note or None,
                at=iso(e.created_at),
                by=None if e.actor is None else user_brief(e.actor),
            )
            for e in events
        ],
    )
