"""The events a webhook carries and the shape of each payload.

A payload names ids, kinds, dates and statuses and nothing else: no title, no text, no note,
no person's name and never the case's display name (the child's name). Titles and notes are
where a child's name or a professionals-only detail would be written, so carrying none of them
is the rule that cannot leak; a receiver that needs more reads it through the API, under its
own token's permissions. Each delivery's body is the Standard Webhooks envelope
``{"type", "timestamp", "data"}`` with one of these as ``data``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

from server.actions.models import Action
from server.meetings.models import Meeting


class EventType(StrEnum):
    """What an endpoint subscribes to, by the type each delivery names."""

    MEETING_ENDED = "meeting.ended"
    MINUTES_APPROVED = "minutes.approved"
    ACTION_CREATED = "action.created"
    ACTION_UPDATED = "action.updated"
    ACTION_OVERDUE = "action.overdue"
    TIMESCALE_OVERDUE = "timescale.overdue"


EVENT_LABELS: dict[str, str] = {
    EventType.MEETING_ENDED: "A meeting ended",
    EventType.MINUTES_APPROVED: "Minutes approved",
    EventType.ACTION_CREATED: "An action agreed",
    EventType.ACTION_UPDATED: "An action changed",
    EventType.ACTION_OVERDUE: "An action became overdue",
    EventType.TIMESCALE_OVERDUE: "A statutory timescale became overdue",
}


class MeetingEnded(msgspec.Struct, kw_only=True):
    meeting_id: UUID
    case_id: UUID
    case_reference: str
    kind: str
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    action_ids: list[UUID]


class MinutesApproved(msgspec.Struct, kw_only=True):
    meeting_id: UUID
    case_id: UUID
    case_reference: str
    meeting_kind: str
    status: str
    approved_at: datetime
    approved_by_id: UUID | None


class ActionData(msgspec.Struct, kw_only=True):
    """An action as action.created and action.overdue carry it."""

    action_id: UUID
    case_id: UUID
    case_reference: str
    meeting_id: UUID | None
    decision_id: UUID | None
    owner_id: UUID
    agency_id: UUID
    outcome_area: str
    due_date: date
    status: str
    acceptance: str
    professionals_only: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class ActionUpdated(ActionData, kw_only=True):
    """The action after the change, and the kinds of change made: status, accepted, declined,
    due_date, owner, snoozed, progress_note (the note itself is not sent)."""

    changes: list[str]


class TimescaleOverdue(msgspec.Struct, kw_only=True):
    case_id: UUID
    case_reference: str
    kind: str
    due_on: date
    meeting_id: UUID | None
    state: str = "overdue"


Payload = MeetingEnded | MinutesApproved | ActionData | ActionUpdated | TimescaleOverdue

PAYLOADS: dict[EventType, type[Payload]] = {
    EventType.MEETING_ENDED: MeetingEnded,
    EventType.MINUTES_APPROVED: MinutesApproved,
    EventType.ACTION_CREATED: ActionData,
    EventType.ACTION_UPDATED: ActionUpdated,
    EventType.ACTION_OVERDUE: ActionData,
    EventType.TIMESCALE_OVERDUE: TimescaleOverdue,
}

P = TypeVar("P", bound=msgspec.Struct)
S = TypeVar("S", bound=msgspec.Struct)


class Envelope(msgspec.Struct, Generic[P]):
    """The body of every delivery, as the Standard Webhooks specification suggests."""

    type: str
    timestamp: datetime
    data: P


def parse_events(values: list[str] | tuple[str, ...]) -> list[EventType]:
    """The events asked for, in the canonical order, once each; ValueError names an unknown one."""
    unknown = [value for value in values if value not in EventType.__members__.values()]
    if unknown:
        raise ValueError(f"{unknown[0][:40]!r} is not an event")
    return [event for event in EventType if event.value in values]


def _copied(payload: type[S], row: object, **given: object) -> S:
    """``payload`` with each field not ``given`` copied from the row's attribute of that name:
    the payload's declaration alone decides what leaves (ids, kinds, dates, statuses)."""
    copied = {name: getattr(row, name) for name in payload.__struct_fields__ if name not in given}
    return payload(**copied, **given)


def action_data(action: Action, case_reference: str) -> ActionData:
    return _copied(ActionData, action, action_id=action.id, case_reference=case_reference)


def action_updated(action: Action, case_reference: str, changes: list[str]) -> ActionUpdated:
    return _copied(
        ActionUpdated,
        action,
        action_id=action.id,
        case_reference=case_reference,
        changes=list(dict.fromkeys(changes)),
    )


def meeting_ended(meeting: Meeting, case_reference: str, action_ids: list[UUID]) -> MeetingEnded:
    return _copied(MeetingEnded, meeting, meeting_id=meeting.id, case_reference=case_reference, action_ids=action_ids)
