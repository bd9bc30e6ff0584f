"""The row a room operation's path names (``/agenda/{item_id}``, ``/mapping/{entry_id}``…),
found the same way by every operation that takes one."""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from server.cases.models import CaseRole
from server.errors import NotFound
from server.lookup import InMeeting, of_meeting
from server.meetings.commands import Ctx
from server.meetings.models import AgendaItem


class UnderItem(InMeeting, Protocol):
    """A row written under an agenda item (or none): a board entry, a scaling question."""

    @property
    def agenda_item_id(self) -> uuid.UUID | None: ...


InMeetingT = TypeVar("InMeetingT", bound=InMeeting)
UnderItemT = TypeVar("UnderItemT", bound=UnderItem)


async def target_row(ctx: Ctx, model: type[InMeetingT], *, missing: str) -> InMeetingT:
    """The row the operation's path names, if it is this meeting's; else NotFound(``missing``)."""
    return await of_meeting(ctx.session, model, ctx.target_id, ctx.meeting.id, missing=missing)


async def visible_target_row(ctx: Ctx, model: type[UnderItemT], *, missing: str) -> UnderItemT:
    """As :func:`target_row`; the family is told the same when the row sits under a
    professionals-only item, which their room never shows."""
    row = await target_row(ctx, model, missing=missing)
    if ctx.role == CaseRole.FAMILY and row.agenda_item_id is not None:
        item = await ctx.session.get(AgendaItem, row.agenda_item_id)
        if item is not None and item.professionals_only:
            raise NotFound(missing)
    return row
