"""The agenda: adding, ordering and opening items, and who may see them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlalchemy import func, select, update

from server.actions.models import Action
from server.errors import Invalid, NotFound
from server.meetings.changes import ChangeKind
from server.meetings.commands import BEFORE_END, LIVE, Ctx, NoBody, Who, command
from server.meetings.models import AgendaItem
from server.meetings.shapes import AgendaItemOut, agenda_item_out
from server.meetings.targets import target_row
from server.platform.db import utcnow

TITLE_MAX = 300
NO_ITEM = "No such agenda item in this meeting."


class NewItem(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=TITLE_MAX)]
    professionals_only: bool = False
    minutes: Annotated[str, msgspec.Meta(max_length=20_000)] = ""


class MoveItem(msgspec.Struct):
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class Visibility(msgspec.Struct):
    professionals_only: bool = False


async def _item(ctx: Ctx) -> AgendaItem:
    return await target_row(ctx, AgendaItem, missing=NO_ITEM)


def _added(item: AgendaItem) -> AgendaItemOut:
    return agenda_item_out(item, None)


@command(
    "POST", "/agenda", who=Who.CHAIR, when=BEFORE_END, change=ChangeKind.AGENDA, audit="agenda.add",
    done="Agenda item added.", answer=_added, status_code=201,
    messages={"title": "Enter the agenda item's title, in up to 300 characters."},
)  # fmt: skip
async def add_item(ctx: Ctx, body: NewItem) -> AgendaItem:
    """Add an item at the end of the agenda (the chair)."""
    title = body.title.strip()
    if not title:
        raise Invalid("Enter the agenda item's title.", field="title", code="title_missing")
    if len(title) > TITLE_MAX:
        raise Invalid(f"Keep the title to {TITLE_MAX} characters.", field="title", code="too_long")
    last = await ctx.session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == ctx.meeting.id)
    )
    item = AgendaItem(
        meeting_id=ctx.meeting.id,
        position=(last if last is not None else -1) + 1,
        title=title,
        professionals_only=body.professionals_only,
        minutes=body.minutes,
    )
    ctx.session.add(item)
    await ctx.session.flush()
    ctx.about("agenda_item", item.id, professionals_only=body.professionals_only)
    return item


@command(
    "POST", "/agenda/{item_id:uuid}/open", who=Who.CHAIR, when=LIVE, change=ChangeKind.ITEM_OPENED,
    audit="agenda.open", done="Agenda item opened.",
)  # fmt: skip
async def open_item(ctx: Ctx, _: NoBody) -> None:
    """Open an agenda item: the one under discussion (the chair)."""
    item = await _item(ctx)
    ctx.meeting.open_item_id = item.id
    item.opened_at = item.opened_at or utcnow()
    ctx.about("agenda_item", item.id)


@command(
    "POST", "/agenda/{item_id:uuid}/move", who=Who.CHAIR, when=BEFORE_END, change=ChangeKind.AGENDA,
    audit="agenda.move", done="Agenda item moved.",
    messages={"position": "Say where to move it: a position of 0 (first) or more."},
)  # fmt: skip
async def move_item(ctx: Ctx, body: MoveItem) -> None:
    """Move an agenda item to a position (0 = first); the others close up (the chair)."""
    items = list(
        await ctx.session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == ctx.meeting.id)
            .order_by(AgendaItem.position, AgendaItem.created_at)
        )
    )
    item = next((i for i in items if i.id == ctx.target), None)
    if item is None:
        raise NotFound(NO_ITEM)
    items.remove(item)
    items.insert(min(body.position, len(items)), item)
    for index, each in enumerate(items):
        each.position = index
    ctx.about("agenda_item", item.id, position=body.position)


@command(
    "POST", "/agenda/{item_id:uuid}/visibility", who=Who.CHAIR, when=BEFORE_END, change=ChangeKind.VISIBILITY,
    audit="agenda.visibility", done="Who sees the item has changed.",
)  # fmt: skip
async def set_visibility(ctx: Ctx, body: Visibility) -> None:
    """Mark an agenda item for professionals only, or share it with the family (the chair); what
    is recorded under it follows."""
    item = await _item(ctx)
    item.professionals_only = body.professionals_only
    await ctx.session.execute(
        update(Action).where(Action.agenda_item_id == item.id).values(professionals_only=body.professionals_only)
    )
    ctx.about("agenda_item", item.id, professionals_only=body.professionals_only)
