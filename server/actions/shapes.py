"""How actions look in the JSON API."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.actions.models import OPEN_STATUSES, Action
from server.people.shapes import agency_json, user_brief


def is_overdue(action: Action, today: date) -> bool:
    return action.status in OPEN_STATUSES and action.due_date < today


def action_json(action: Action, today: date) -> dict[str, Any]:
    return {
        "id": str(action.id),
        "case_id": str(action.case_id),
        "meeting_id": None if action.meeting_id is None else str(action.meeting_id),
        "agenda_item_id": None if action.agenda_item_id is None else str(action.agenda_item_id),
        "decision_id": None if action.decision_id is None else str(action.decision_id),
        "title": action.title,
        "owner_id": str(action.owner_id),
        "owner": user_brief(action.owner),
        "agency_id": str(action.agency_id),
        "agency": agency_json(action.agency),
        "due_date": action.due_date.isoformat(),
        "outcome_area": action.outcome_area,
        "status": action.status,
        "acceptance": action.acceptance,
        "overdue": is_overdue(action, today),
        "created_at": action.created_at.isoformat(),
        "updated_at": action.updated_at.isoformat(),
    }
