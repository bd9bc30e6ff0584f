"""How a row of the audit trail looks in the JSON API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from server.audit.models import AuditEvent
from server.shapes import Timestamp, from_attributes, iso


class AuditRow(msgspec.Struct):
    """``detail`` is what was recorded beside the verb; its keys differ from verb to verb."""

    id: int
    at: Timestamp
    actor_id: UUID | None
    verb: str
    object_type: str
    object_id: str | None
    meeting_id: UUID | None
    ip: str | None
    detail: dict[str, Any]


def audit_json(row: AuditEvent) -> AuditRow:
    return from_attributes(AuditRow, row, at=iso(row.at))
