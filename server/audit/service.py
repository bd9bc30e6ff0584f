"""Writing the audit trail. Rows are added inside the caller's transaction, so a change and its
record commit together or not at all."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditEvent


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is doing something, and from where; passed from routes into services."""

    user_id: uuid.UUID | None
    ip: str | None = None


def record(
    session: AsyncSession,
    actor: Actor,
    verb: str,
    object_type: str,
    object_id: uuid.UUID | str | None = None,
    *,
    case_id: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.user_id,
            case_id=case_id,
            meeting_id=meeting_id,
            verb=verb,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            detail={k: _jsonable(v) for k, v in detail.items()},
            ip=actor.ip,
        )
    )


class MeetingIds(Protocol):
    """A meeting, as far as its audit rows need it."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def case_id(self) -> uuid.UUID: ...


def record_meeting(
    session: AsyncSession,
    actor: Actor,
    verb: str,
    meeting: MeetingIds,
    *,
    about: tuple[str, uuid.UUID] | None = None,
    **detail: Any,
) -> None:
    """A row for something done to or in a meeting, filed under the meeting and its case; the
    row is about the meeting itself unless ``about`` names the thing (an agenda item…)."""
    object_type, object_id = about or ("meeting", meeting.id)
    record(session, actor, verb, object_type, object_id, case_id=meeting.case_id, meeting_id=meeting.id, **detail)


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
