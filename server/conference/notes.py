"""Live notes per agenda item, written by the chair or the minute-taker the chair names; they
become the draft minutes.

Notes are saved as they are typed, so two people can be typing at once. The last save wins,
and a save made from an older copy than the one stored says so (``overwrote``), so the writer
is warned that the other person's words were replaced and can look before going on."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from server.cases.models import CaseRole
from server.cases.service import role_of
from server.conference.shapes import NotesOut
from server.errors import Forbidden, Invalid
from server.meetings.changes import ChangeKind
from server.meetings.commands import BEFORE_END, LIVE, Ctx, Who, command
from server.meetings.models import AgendaItem
from server.meetings.targets import target_row

NOTES_MAX = 20_000


class Notes(msgspec.Struct):
    text: Annotated[str, msgspec.Meta(max_length=NOTES_MAX)]
    notes_version: Annotated[int, msgspec.Meta(ge=0)] | None = None  # the copy the text was typed on


class MinuteTaker(msgspec.Struct):
    user_id: uuid.UUID | None = None  # none: the chair takes the notes alone


def may_write_notes(ctx: Ctx) -> bool:
    return ctx.is_chair or ctx.meeting.minute_taker_id == ctx.user.id


@command(
    "PUT", "/agenda/{item_id:uuid}/notes", who=Who.MEMBER, when=LIVE, change=ChangeKind.NOTES, audit="notes.write",
    done="Notes saved.", refusal="Only the chair or the minute-taker can write the notes.",
    messages={"text": f"Keep the notes of one item to {NOTES_MAX:,} characters."},
)  # fmt: skip
async def write_notes(ctx: Ctx, body: Notes) -> NotesOut:
    """Save the notes of an agenda item as typed (the chair or the minute-taker). Last writer
    wins; ``overwrote`` warns that another save came after the copy the text was typed on."""
    if not may_write_notes(ctx):
        raise Forbidden("Only the chair or the minute-taker can write the notes.", code="not_minute_taker")
    item = await target_row(ctx, AgendaItem, missing="No such agenda item in this meeting.")
    overwrote = body.notes_version is not None and body.notes_version != item.notes_version
    item.notes = body.text
    item.notes_version += 1
    ctx.about("agenda_item", item.id, verb=None, length=len(body.text), overwrote=overwrote)
    return NotesOut(agenda_item_id=item.id, text=item.notes, notes_version=item.notes_version, overwrote=overwrote)


@command(
    "PUT", "/minute-taker", who=Who.CHAIR, when=BEFORE_END, change=ChangeKind.MINUTE_TAKER,
    audit="minute_taker.set", done="Minute-taker named.",
    messages={"user_id": "Choose a professional on the case's team."},
)  # fmt: skip
async def set_minute_taker(ctx: Ctx, body: MinuteTaker) -> None:
    """Name the minute-taker, who writes the notes with the chair (the chair); none to clear."""
    if body.user_id is not None:
        role = await role_of(ctx.session, ctx.meeting.case_id, body.user_id)
        if role not in (CaseRole.PROFESSIONAL, CaseRole.CHAIR):
            raise Invalid(
                "The minute-taker must be a professional on the case's team.", field="user_id", code="not_on_team"
            )
    ctx.meeting.minute_taker_id = body.user_id
    ctx.about("meeting", ctx.meeting.id, minute_taker=body.user_id)
