"""JSON API of the minutes (the draft, corrections, the chair's edits and approval) and of the
outcome letter sent when the meeting ended."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post, put

from server.minutes import lifecycle
from server.minutes.letter import letter_for
from server.minutes.letter_shapes import LetterOut, LetterRecord
from server.minutes.shapes import CorrectionOut, MinutesOut
from server.shapes import iso
from server.web.caller import Caller


class CorrectionIn(msgspec.Struct):
    """What should be corrected, on one agenda item or (without ``agenda_item_id``) the whole."""

    text: str
    agenda_item_id: UUID | None = None


class ItemMinutesIn(msgspec.Struct):
    text: str


class ResolveIn(msgspec.Struct):
    state: Annotated[str, msgspec.Meta(max_length=16)]
    reply: str = ""


class MinutesApi(Controller):
    path = "/api/meetings/{meeting_id:uuid}/minutes"
    tags = ["Minutes"]

    @get("/")
    async def minutes(self, meeting_id: UUID, caller: Caller) -> MinutesOut:
        """The caller's copy (a family member gets the family's, without professionals-only
        items), its ``status`` (draft or approved), ``draft_until`` and the corrections the caller
        may see. 404 until the meeting has ended."""
        return lifecycle.answer(await lifecycle.reading(caller, meeting_id, via="api"))

    @post("/corrections", status_code=201)
    async def correct(self, meeting_id: UUID, data: CorrectionIn, caller: Caller) -> CorrectionOut:
        """A correction of the draft, by someone who attended, until ``draft_until``; 409 once the
        minutes are approved or the window has closed, 403 for someone who did not attend."""
        return await lifecycle.correct(caller, meeting_id, text=data.text, agenda_item_id=data.agenda_item_id)

    @post("/corrections/{correction_id:uuid}/resolve", status_code=200)
    async def resolve(self, meeting_id: UUID, correction_id: UUID, data: ResolveIn, caller: Caller) -> MinutesOut:
        """The chair: mark a correction ``applied`` or ``not_applied``, with a reply."""
        await lifecycle.resolve(caller, meeting_id, correction_id, state=data.state, reply=data.reply)
        return lifecycle.answer(await lifecycle.reading(caller, meeting_id, via="api", audited=False))

    @put("/items/{item_id:uuid}")
    async def edit_item(self, meeting_id: UUID, item_id: UUID, data: ItemMinutesIn, caller: Caller) -> MinutesOut:
        """The chair: rewrite one agenda item's minutes in the draft."""
        await lifecycle.edit_item(caller, meeting_id, item_id, text=data.text)
        return lifecycle.answer(await lifecycle.reading(caller, meeting_id, via="api", audited=False))

    @post("/approve", status_code=200)
    async def approve(self, meeting_id: UUID, caller: Caller) -> MinutesOut:
        """The chair: freeze the minutes and e-mail everyone invited their copy (page, PDF)."""
        await lifecycle.approve(caller, meeting_id)
        return lifecycle.answer(await lifecycle.reading(caller, meeting_id, via="api", audited=False))


class LetterApi(Controller):
    path = "/api/meetings/{meeting_id:uuid}/letter"
    tags = ["Minutes"]

    @get("/")
    async def letter(self, meeting_id: UUID, caller: Caller) -> LetterOut:
        """The caller's copy of the outcome letter sent when the meeting ended; 404 before."""
        copy = await letter_for(caller, meeting_id, via="api")
        return LetterOut(
            audience=copy.audience, sent_at=iso(copy.sent_at), letter=msgspec.convert(copy.snapshot, LetterRecord)
        )
