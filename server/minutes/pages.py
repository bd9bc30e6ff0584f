"""Pages of the minutes and the outcome letter: the reader's own copy (page and PDF), the
attendee's correction form on the draft, and the chair's review page with the corrections
beside the draft, where the chair edits, answers and approves."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Redirect, Template

from server.errors import DomainError, Forbidden
from server.minutes import lifecycle
from server.minutes import snapshot as snap
from server.minutes.letter import letter_filename, letter_for
from server.minutes.letter_pdf import build_letter_pdf
from server.minutes.pdf import build_pdf
from server.minutes.service import minutes_for, pdf_filename
from server.timeutil import duration
from server.web.caller import Caller
from server.web.form_posts import Fields, ShowAgain, press_button, submit_form
from server.web.forms import form_message, form_page
from server.web.render import page, redirect
from server.web.types import HttpRequest

FORMATTERS: dict[str, Any] = {
    "when": snap.local_datetime,
    "at": snap.local_time,
    "day": snap.long_date,
    "duration": duration,
}


def _item_choices(minutes: dict[str, Any]) -> list[tuple[str, str]]:
    return [("", "The minutes as a whole")] + [
        (item["id"], f"{item['number']}. {item['title']}") for item in minutes["items"]
    ]


def _in_one_message(error: DomainError, _values: Fields) -> dict[str, str]:
    """An item's text is one field: every problem with it is said beside it at once."""
    return {"text": form_message(error)}


class MinutesPages(Controller):
    include_in_schema = False
    path = "/meetings/{meeting_id:uuid}"

    async def _minutes_page(
        self, request: HttpRequest, caller: Caller, meeting_id: UUID, status_code: int = 200, **context: Any
    ) -> Template:
        found = await lifecycle.reading(caller, meeting_id)
        copy = found.copy
        minutes = copy.snapshot
        return form_page(
            request,
            "minutes/minutes.html",
            status_code=status_code,
            minutes=minutes,
            meeting=minutes["meeting"],
            audience=copy.audience,
            issued_at=copy.issued_at,
            status=copy.status,
            review=copy.review,
            reading=found,
            item_choices=_item_choices(minutes),
            actions_by_id={a["id"]: a for a in minutes["actions"]},
            **FORMATTERS,
            **context,
        )

    @get("/minutes")
    async def minutes(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Template:
        """The draft or the approved minutes (404 until the meeting has ended); the family's copy
        for family; the correction form for attendees while the draft is open."""
        return await self._minutes_page(request, caller, meeting_id)

    @get("/minutes.pdf")
    async def minutes_pdf(self, meeting_id: UUID, caller: Caller) -> Response[bytes]:
        """The same copy as a PDF download (audited as an export)."""
        copy = await minutes_for(caller, meeting_id, purpose="export")
        content = await asyncio.to_thread(build_pdf, copy.snapshot)
        name = pdf_filename(copy.snapshot)
        if copy.status == "draft":
            name = name.replace("minutes-", "draft-minutes-", 1)
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @post("/minutes/corrections")
    async def correct(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Response[Any]:
        async def send(data: Fields) -> Response[Any]:
            try:
                item = UUID(data["agenda_item_id"]) if data.get("agenda_item_id") else None
            except ValueError:
                item = None
                data["agenda_item_id"] = ""
            text = data.get("text", "")
            await lifecycle.correct(caller, meeting_id, text=text, agenda_item_id=item)
            url = f"/meetings/{meeting_id}/minutes#corrections"
            return redirect(request, url, flash="Your correction has been sent to the chair.")

        return await submit_form(
            request, send, partial(self._minutes_page, request, caller, meeting_id), default="text"
        )

    @get("/minutes/review")
    async def review(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Response[Any]:
        """The chair's page: each item of the draft with the corrections sent about it beside it."""
        return await self._review_page(request, caller, meeting_id)

    async def _review_page(
        self,
        request: HttpRequest,
        caller: Caller,
        meeting_id: UUID,
        *,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
    ) -> Response[Any]:
        """``errors`` and ``values`` are keyed by the id of the field they belong to (each item's
        and each correction's form has its own)."""
        found = await lifecycle.reading(caller, meeting_id, audited=errors is None)
        if not found.copy.visible.is_chair:
            raise Forbidden("Only the meeting's chair reviews and approves the minutes.", code="not_chair")
        if found.copy.status != "draft":
            return redirect(request, f"/meetings/{meeting_id}/minutes", flash="These minutes are approved.")
        minutes = found.copy.snapshot
        by_item: dict[str | None, list[Any]] = {}
        for correction in found.corrections:
            key = None if correction.agenda_item_id is None else str(correction.agenda_item_id)
            by_item.setdefault(key, []).append(correction)
        return form_page(
            request,
            "minutes/review.html",
            status_code=status_code,
            errors=errors,
            values=values,
            minutes=minutes,
            meeting=minutes["meeting"],
            review=found.copy.review,
            reading=found,
            by_item=by_item,
            open_count=sum(1 for c in found.corrections if c.state == "open"),
            actions_by_id={a["id"]: a for a in minutes["actions"]},
            **FORMATTERS,
        )

    def _review_again(self, request: HttpRequest, caller: Caller, meeting_id: UUID, field: str, key: UUID) -> ShowAgain:
        """The review page around one of its refused forms: each item's and each correction's form
        names its fields ``{name}-{id}``, and keeps only what was typed into its ``field``."""

        async def again(*, status_code: int, errors: dict[str, str], values: Fields) -> Response[Any]:
            return await self._review_page(
                request,
                caller,
                meeting_id,
                status_code=status_code,
                errors={f"{name}-{key}": message for name, message in errors.items()},
                values={f"{field}-{key}": values.get(field, "")},
            )

        return again

    @post("/minutes/items/{item_id:uuid}")
    async def edit_item(self, request: HttpRequest, meeting_id: UUID, item_id: UUID, caller: Caller) -> Response[Any]:
        async def save(data: Fields) -> Response[Any]:
            # An item's minutes may be longer than the form reader keeps of a field: read it whole,
            # so that text over the limit is refused rather than cut short.
            data["text"] = str((await request.form()).get("text", "")).replace("\x00", "")
            await lifecycle.edit_item(caller, meeting_id, item_id, text=data["text"])
            url = f"/meetings/{meeting_id}/minutes/review#item-{item_id}"
            return redirect(request, url, flash="The draft is saved.")

        again = self._review_again(request, caller, meeting_id, "text", item_id)
        return await submit_form(request, save, again, errors=_in_one_message)

    @post("/minutes/corrections/{correction_id:uuid}")
    async def resolve(
        self, request: HttpRequest, meeting_id: UUID, correction_id: UUID, caller: Caller
    ) -> Response[Any]:
        async def answer(data: Fields) -> Response[Any]:
            state, reply = data.get("state", ""), data.get("reply", "")
            await lifecycle.resolve(caller, meeting_id, correction_id, state=state, reply=reply)
            url = f"/meetings/{meeting_id}/minutes/review#correction-{correction_id}"
            return redirect(request, url, flash="Your answer to the correction is saved.")

        again = self._review_again(request, caller, meeting_id, "reply", correction_id)
        return await submit_form(request, answer, again, default="reply")

    @post("/minutes/approve")
    async def approve(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Redirect:
        approved = lifecycle.approve(caller, meeting_id)
        done = "The minutes are approved and on their way to everyone invited."
        return await press_button(request, f"/meetings/{meeting_id}/minutes", approved, done)

    @get("/letter")
    async def letter(self, request: HttpRequest, meeting_id: UUID, caller: Caller) -> Template:
        """The outcome letter as sent when the meeting ended; the family's copy for family."""
        copy = await letter_for(caller, meeting_id)
        letter = copy.snapshot
        return page(
            request,
            "minutes/letter.html",
            letter=letter,
            meeting=letter["meeting"],
            audience=copy.audience,
            sent_at=copy.sent_at,
            **FORMATTERS,
        )

    @get("/letter.pdf")
    async def letter_pdf(self, meeting_id: UUID, caller: Caller) -> Response[bytes]:
        copy = await letter_for(caller, meeting_id, purpose="export")
        content = await asyncio.to_thread(build_letter_pdf, copy.snapshot)
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{letter_filename(copy.snapshot)}"'},
        )
