"""How actions look in the JSON API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

import msgspec

from server.actions.models import OPEN_STATUSES, Action, ActionEvent
from server.people.shapes import AgencyOut, UserBrief, agency_json, user_brief
from server.shapes import Timestamp, from_attributes, iso


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
    return from_attributes(
        ActionOut,
        action,
        owner=user_brief(action.owner),
        agency=agency_json(action.agency),
        overdue=is_overdue(action, today),
        created_at=iso(action.created_at),
        updated_at=iso(action.updated_at),
    )


def history_entry(event: ActionEvent) -> HistoryEntry:
    return from_attributes(
        HistoryEntry,
        event,
        note=event.note or None,
        at=iso(event.created_at),
        by=None if event.actor is None else user_brief(event.actor),
    )


def detail_json(action: Action, events: Iterable[ActionEvent], today: date) -> ActionDetail:
    return ActionDetail(
        **msgspec.structs.asdict(action_json(action, today)),
        status_reason=action.status_reason or None,
        snoozed_until=action.snoozed_until,
        snooze_reason=action.snooze_reason,
        history=[history_entry(e) for e in events],
    )
