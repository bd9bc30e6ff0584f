"""The meeting room page and the room's form posts.

Every control in the room is a plain form with a real ``action``, so the room works without
JavaScript (each post answers with a redirect back to the room and a flash). With htmx the same
forms post in the background: success is 204 No Content, because the change reaches every
browser, this one included, through the meeting's socket; a refusal is a small fragment that
htmx puts in the room's alert region (``#room-errors``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.config import Settings
from server.errors import DomainError, Invalid
from server.live.events import Publisher
from server.meetings import room
from server.meetings.service import visible_meeting
from server.meetings.state import audience_for, load_room, view_for
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.web.forms import checked, form_data, parse_int, parse_uuid
from server.web.render import is_htmx, page, redirect
from server.web.types import HttpRequest

ERRORS_TARGET = "#room-errors"
MAX_POSITIONS = 100


def _room_path(meeting_id: UUID) -> str:
    return f"/meetings/{meeting_id}/room"


def _position(data: dict[str, str]) -> int:
    value = parse_int(data.get("position"), "position", "The position must be a whole number.")
    if value is None:
        raise Invalid("Say where to move it.", field="position")
    return value


def _optional_uuid(value: str | None, field: str, message: str) -> UUID | None:
    return parse_uuid(value, field, message) if value else None


def _due_date(value: str | None) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise Invalid("Enter the due date as a date, for example 2026-05-01.", field="due_date") from None


def _positions(data: dict[str, str]) -> list[room.PositionInput]:
    """Agency positions from fields ``position-<agency id>`` and ``reason-<agency id>``; an
    agency left without a choice records no position."""
    positions = []
    for key, value in data.items():
        if not key.startswith("position-") or not value:
            continue
        agency_id = parse_uuid(key.removeprefix("position-"), "positions", "Positions must name an agency.")
        positions.append(room.PositionInput(agency_id, value, data.get(f"reason-{agency_id}", "")))
    if len(positions) > MAX_POSITIONS:
        raise Invalid("Too many positions.", field="positions")
    return positions


Operation = Callable[[dict[str, str]], Awaitable[Any]]


class RoomPages(Controller):
    include_in_schema = False
    path = "/meetings/{meeting_id:uuid}/room"

    @get("/")
    async def room_page(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
    ) -> Template:
        visible = await visible_meeting(db, user, meeting_id)
        audience = audience_for(visible.case.access.role, is_chair=visible.is_chair)
        view = view_for(await load_room(db, meeting_id), audience, utcnow())
        async with transaction(db):
            record(
                db,
                actor,
                "meeting.view",
                "meeting",
                meeting_id,
                case_id=view.meeting.case_id,
                meeting_id=meeting_id,
                via="room",
            )
        return page(request, "live/room.html", view=view)

    async def _answer(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        operation: Operation,
        done: str,
    ) -> Response[Any]:
        """Run one room operation from a form and answer htmx or a plain browser."""
        htmx = is_htmx(request)
        try:
            await operation(await form_data(request))
        except DomainError as error:
            if htmx:
                return Template(
                    template_name="live/_error.html",
                    context={"message": error.detail},
                    status_code=error.status_code,
                    headers={"HX-Retarget": ERRORS_TARGET, "HX-Reswap": "innerHTML"},
                )
            if error.status_code in (401, 403, 404):
                raise
            return redirect(request, _room_path(meeting_id), flash=error.detail, category="error")
        if htmx:
            return Response(content=None, status_code=204)
        return redirect(request, _room_path(meeting_id), flash=done)

    # --- start, end, attendance ------------------------------------------------------------

    @post("/start")
    async def start(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.start(db, publisher, actor, user, meeting_id)

        return await self._answer(request, meeting_id, op, "The meeting has started.")

    @post("/end")
    async def end(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.end(db, publisher, actor, user, meeting_id, settings)

        return await self._answer(request, meeting_id, op, "The meeting has ended.")

    @post("/join")
    async def join(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.join(db, publisher, actor, user, meeting_id)

        return await self._answer(request, meeting_id, op, "You have joined the meeting.")

    @post("/leave")
    async def leave(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.leave(db, publisher, actor, user, meeting_id)

        return await self._answer(request, meeting_id, op, "You have left the meeting.")

    # --- agenda ------------------------------------------------------------------------------

    @post("/open/{item_id:uuid}")
    async def open_item(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        item_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.open_item(db, publisher, actor, user, meeting_id, item_id)

        return await self._answer(request, meeting_id, op, "Agenda item opened.")

    @post("/agenda")
    async def add_item(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            await room.add_item(
                db,
                publisher,
                actor,
                user,
                meeting_id,
                data.get("title", ""),
                professionals_only=checked(data, "professionals_only"),
            )

        return await self._answer(request, meeting_id, op, "Agenda item added.")

    @post("/agenda/{item_id:uuid}/move")
    async def move_item(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        item_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            await room.move_item(db, publisher, actor, user, meeting_id, item_id, _position(data))

        return await self._answer(request, meeting_id, op, "Agenda item moved.")

    @post("/agenda/{item_id:uuid}/visibility")
    async def visibility(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        item_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            await room.set_professionals_only(
                db, publisher, actor, user, meeting_id, item_id, checked(data, "professionals_only")
            )

        return await self._answer(request, meeting_id, op, "Who sees the item has changed.")

    # --- hands and the floor -----------------------------------------------------------------

    @post("/hands")
    async def raise_hand(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            on_behalf_of = _optional_uuid(data.get("user_id"), "user_id", "Choose whose hand to raise.")
            await room.raise_hand(
                db,
                publisher,
                actor,
                user,
                meeting_id,
                data.get("kind") or "contribution",
                on_behalf_of=on_behalf_of,
            )

        return await self._answer(request, meeting_id, op, "Hand raised.")

    @post("/hands/lower")
    async def lower_hand(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            await room.lower_hand(db, publisher, actor, user, meeting_id, data.get("kind") or None)

        return await self._answer(request, meeting_id, op, "Hand lowered.")

    @post("/hands/{hand_id:uuid}/move")
    async def move_hand(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        hand_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            await room.move_hand(db, publisher, actor, user, meeting_id, hand_id, _position(data))

        return await self._answer(request, meeting_id, op, "Moved in the queue.")

    @post("/round")
    async def start_round(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.start_round(db, publisher, actor, user, meeting_id)

        return await self._answer(request, meeting_id, op, "A round has started: every agency present is queued.")

    @post("/floor/next")
    async def floor_next(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            version = parse_int(data.get("version"), "version", "The room version must be a number.")
            await room.floor_next(db, publisher, actor, user, meeting_id, expected_version=version)

        return await self._answer(request, meeting_id, op, "The floor has passed on.")

    @post("/floor/end")
    async def floor_end(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(_: dict[str, str]) -> None:
            await room.floor_end(db, publisher, actor, user, meeting_id)

        return await self._answer(request, meeting_id, op, "The turn has ended.")

    # --- decisions and actions ---------------------------------------------------------------

    @post("/decisions")
    async def record_decision(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            item_id = parse_uuid(
                data.get("agenda_item_id"), "agenda_item_id", "Open the agenda item the decision is about."
            )
            await room.record_decision(
                db,
                publisher,
                actor,
                user,
                meeting_id,
                item_id,
                data.get("text", ""),
                data.get("outcome", ""),
                _positions(data),
            )

        return await self._answer(request, meeting_id, op, "Decision recorded.")

    @post("/actions")
    async def assign_action(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> Response[Any]:
        async def op(data: dict[str, str]) -> None:
            new = room.ActionInput(
                title=data.get("title", ""),
                owner_id=parse_uuid(data.get("owner_id"), "owner_id", "Choose who owns the action."),
                due_date=_due_date(data.get("due_date")),
                outcome_area=data.get("outcome_area", ""),
                agenda_item_id=_optional_uuid(
                    data.get("agenda_item_id"), "agenda_item_id", "Choose an agenda item of this meeting."
                ),
                decision_id=_optional_uuid(
                    data.get("decision_id"), "decision_id", "Choose a decision of this meeting."
                ),
            )
            await room.assign_action(db, publisher, actor, user, meeting_id, new, settings=settings)

        return await self._answer(request, meeting_id, op, "Action assigned.")
