"""Finding one row by its key, or refusing with :class:`NotFound` in the words of what was asked
for; a row that belongs to another meeting or case is refused the same way, so an id from
elsewhere tells the caller nothing."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import NotFound


class InMeeting(Protocol):
    """A row that belongs to one meeting: an agenda item, a board entry, a scale, a correction…"""

    @property
    def meeting_id(self) -> uuid.UUID | None: ...


RowT = TypeVar("RowT")
InMeetingT = TypeVar("InMeetingT", bound=InMeeting)


async def existing(session: AsyncSession, model: type[RowT], key: Any, *, missing: str, **options: Any) -> RowT:
    """The row of ``model`` with this primary key; NotFound(``missing``) when there is none."""
    row = await session.get(model, key, **options)
    if row is None:
        raise NotFound(missing)
    return row


async def of_meeting(
    session: AsyncSession, model: type[InMeetingT], key: uuid.UUID, meeting_id: uuid.UUID, *, missing: str
) -> InMeetingT:
    """The row with this key if it belongs to the meeting ``meeting_id``; else NotFound(``missing``)."""
    row = await session.get(model, key)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound(missing)
    return row
