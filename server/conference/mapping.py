"""The Signs of Safety mapping board: worries, what is working well, what needs to happen,
danger statements, safety goals and complicating factors, written by any attendee (the family
included) under the agenda item open at the time, and edited or removed by their author or the
chair. An entry under a professionals-only item never reaches the family (the views leave it
out), so a family member cannot add one there either."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from server.cases.models import CaseRole
from server.conference.models import Column, MappingEntry
from server.conference.shapes import mapping_out
from server.errors import Forbidden, Invalid
from server.meetings.changes import ChangeKind
from server.meetings.commands import LIVE, Ctx, NoBody, Who, command
from server.meetings.models import AgendaItem
from server.meetings.targets import visible_target_row
from server.platform.db import utcnow
from server.written import chosen

ENTRY_MAX = 2000
COLUMN_WORDS = "column must be worry, working_well, next_steps, danger_statement, safety_goal or complicating."
TEXT = Annotated[str, msgspec.Meta(max_length=ENTRY_MAX)]
MESSAGES = {
    "column": "Choose a column of the board.",
    "text": f"Write the entry, in up to {ENTRY_MAX:,} characters.",
    "agenda_item_id": "Choose an agenda item of this meeting.",
}


class NewEntry(msgspec.Struct):
    column: Annotated[str, msgspec.Meta(max_length=32)]
    text: TEXT
    agenda_item_id: uuid.UUID | None = None


class EntryEdit(msgspec.Struct):
    text: TEXT | None = None


def _text(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise Invalid("Write the entry: it cannot be empty.", field="text", code="text_missing")
    return cleaned


async def _item_for(ctx: Ctx, item_id: uuid.UUID | None) -> AgendaItem | None:
    item_id = item_id or ctx.meeting.open_item_id
    if item_id is None:
        return None
    item = await ctx.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != ctx.meeting.id or (item.professionals_only and ctx.role == CaseRole.FAMILY):
        raise Invalid("Choose an agenda item of this meeting.", field="agenda_item_id", code="unknown_item")
    return item


async def _entry(ctx: Ctx) -> MappingEntry:
    entry = await visible_target_row(ctx, MappingEntry, missing="No such entry on this board.")
    if entry.author_id != ctx.user.id and not ctx.is_chair:
        raise Forbidden("Only the entry's author or the chair can change it.", code="not_author")
    return entry


@command(
    "POST", "/mapping", who=Who.ATTENDEE, when=LIVE, change=ChangeKind.MAPPING, audit="mapping.add",
    done="Added to the board.", answer=mapping_out, status_code=201, messages=MESSAGES,
)  # fmt: skip
async def add_entry(ctx: Ctx, body: NewEntry) -> MappingEntry:
    """Add an entry to the mapping board under the open agenda item (attendees, the family too)."""
    chosen(body.column, Column, field="column", code="unknown_column", words=COLUMN_WORDS)
    text = _text(body.text)
    item = await _item_for(ctx, body.agenda_item_id)
    entry = MappingEntry(
        meeting_id=ctx.meeting.id,
        column=body.column,
        text=text,
        author_id=ctx.user.id,
        agenda_item_id=None if item is None else item.id,
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    await ctx.session.refresh(entry, ["author"])
    ctx.about("mapping_entry", entry.id, column=body.column)
    return entry


@command(
    "PATCH", "/mapping/{entry_id:uuid}", who=Who.MEMBER, when=LIVE, change=ChangeKind.MAPPING, audit="mapping.edit",
    done="Entry changed.", answer=mapping_out, form_path="/mapping/{entry_id:uuid}/edit", messages=MESSAGES,
)  # fmt: skip
async def edit_entry(ctx: Ctx, body: EntryEdit) -> MappingEntry:
    """Change the words of a mapping entry (its author or the chair)."""
    entry = await _entry(ctx)
    if body.text is not None:
        entry.text = _text(body.text)
        entry.updated_at = utcnow()
    ctx.about("mapping_entry", entry.id, column=entry.column)
    return entry


class Removed(msgspec.Struct):
    id: uuid.UUID
    removed: bool


@command(
    "DELETE", "/mapping/{entry_id:uuid}", who=Who.MEMBER, when=LIVE, change=ChangeKind.MAPPING,
    audit="mapping.remove", done="Entry removed.", form_path="/mapping/{entry_id:uuid}/remove",
)  # fmt: skip
async def remove_entry(ctx: Ctx, _: NoBody) -> Removed:
    """Take an entry off the mapping board (its author or the chair)."""
    entry = await _entry(ctx)
    await ctx.session.delete(entry)
    ctx.about("mapping_entry", entry.id, column=entry.column)
    return Removed(id=entry.id, removed=True)
