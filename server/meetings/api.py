"""JSON API of the live meeting: thin handlers over room.py, publishing through the live hub."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.shapes import action_json
from server.audit.service import Actor, record
from server.config import Settings
from server.live.events import Publisher
from server.meetings import room
from server.meetings.service import visible_meeting
from server.meetings.state import audience_for, load_room, state_json, view_for
from server.people.models import User
from server.platform.db import transaction, utcnow
from server.timeutil import today_local

ShortText = Annotated[str, msgspec.Meta(max_length=300)]


class NewItem(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    professionals_only: bool = False
    minutes: Annotated[str, msgspec.Meta(max_length=20_000)] = ""


class NewHand(msgspec.Struct):
    kind: Annotated[str, msgspec.Meta(max_length=32)] = "contribution"
    user_id: UUID | None = None


class Move(msgspec.Struct):
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class FloorNext(msgspec.Struct):
    version: int | None = None


class PositionBody(msgspec.Struct):
    agency_id: UUID
    position: Annotated[str, msgspec.Meta(max_length=16)]
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class NewDecision(msgspec.Struct):
    agenda_item_id: UUID
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    outcome: Annotated[str, msgspec.Meta(max_length=16)]
    positions: Annotated[list[PositionBody], msgspec.Meta(max_length=100)] = []


class NewAction(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    owner_id: UUID
    due_date: date
    outcome_area: Annotated[str, msgspec.Meta(max_length=32)]
    agenda_item_id: UUID | None = None
    decision_id: UUID | None = None
    agency_id: UUID | None = None


async def meeting_state(db: AsyncSession, user: User, meeting_id: UUID) -> dict[str, Any]:
    visible = await visible_meeting(db, user, meeting_id)
    audience = audience_for(visible.case.access.role, is_chair=visible.is_chair)
    return state_json(view_for(await load_room(db, meeting_id), audience, utcnow()))


class MeetingsApi(Controller):
    path = "/api/meetings/{meeting_id:uuid}"
    tags = ["Live meeting"]

    @get("/")
    async def state(self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor) -> dict[str, Any]:
        """The whole state of the meeting, as this user may see it."""
        body = await meeting_state(db, user, meeting_id)
        async with transaction(db):
            record(
                db,
                actor,
                "meeting.view",
                "meeting",
                meeting_id,
                case_id=UUID(body["case_id"]),
                meeting_id=meeting_id,
                via="api",
            )
        return body

    @post("/agenda", status_code=201)
    async def add_item(
        self,
        meeting_id: UUID,
        data: NewItem,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> dict[str, Any]:
        item = await room.add_item(
            db,
            publisher,
            actor,
            user,
            meeting_id,
            data.title,
            professionals_only=data.professionals_only,
            minutes=data.minutes,
        )
        return {
            "id": str(item.id),
            "title": item.title,
            "position": item.position,
            "professionals_only": item.professionals_only,
        }

    @post("/agenda/{item_id:uuid}/open", status_code=200)
    async def open_item(
        self,
        meeting_id: UUID,
        item_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> dict[str, Any]:
        await room.open_item(db, publisher, actor, user, meeting_id, item_id)
        return await meeting_state(db, user, meeting_id)

    @post("/agenda/{item_id:uuid}/move", status_code=200)
    async def move_item(
        self,
        meeting_id: UUID,
        item_id: UUID,
        data: Move,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> dict[str, Any]:
        await room.move_item(db, publisher, actor, user, meeting_id, item_id, data.position)
        return await meeting_state(db, user, meeting_id)

    @post("/start", status_code=200)
    async def start(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> dict[str, Any]:
        await room.start(db, publisher, actor, user, meeting_id)
        return await meeting_state(db, user, meeting_id)

    @post("/end", status_code=200)
    async def end(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher, settings: Settings
    ) -> dict[str, Any]:
        await room.end(db, publisher, actor, user, meeting_id, settings)
        return await meeting_state(db, user, meeting_id)

    @post("/join", status_code=200)
    async def join(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> dict[str, Any]:
        await room.join(db, publisher, actor, user, meeting_id)
        return await meeting_state(db, user, meeting_id)

    @post("/leave", status_code=200)
    async def leave(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> dict[str, Any]:
        await room.leave(db, publisher, actor, user, meeting_id)
        return await meeting_state(db, user, meeting_id)

    @post("/hands", status_code=201)
    async def raise_hand(
        self,
        meeting_id: UUID,
        data: NewHand,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> dict[str, Any]:
        """Raise a hand (kind contribution, reply or point_of_order); the chair may give user_id."""
        hand = await room.raise_hand(db, publisher, actor, user, meeting_id, data.kind, on_behalf_of=data.user_id)
        return {
            "id": str(hand.id),
            "kind": hand.kind,
            "user_id": str(hand.user_id),
            "raised_at": hand.raised_at.isoformat(),
        }

    @delete("/hands/mine", status_code=200)
    async def lower_hand(
        self,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        kind: str | None = None,
    ) -> dict[str, Any]:
        await room.lower_hand(db, publisher, actor, user, meeting_id, kind)
        return {"lowered": True}

    @post("/hands/{hand_id:uuid}/move", status_code=200)
    async def move_hand(
        self,
        meeting_id: UUID,
        hand_id: UUID,
        data: Move,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> dict[str, Any]:
        await room.move_hand(db, publisher, actor, user, meeting_id, hand_id, data.position)
        return await meeting_state(db, user, meeting_id)

    @post("/round", status_code=200)
    async def round(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> dict[str, Any]:
        queued = await room.start_round(db, publisher, actor, user, meeting_id)
        return {"queued": queued}

    @post("/floor/next", status_code=200)
    async def floor_next(
        self,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        data: FloorNext | None = None,
    ) -> dict[str, Any]:
        """End the current turn and give the floor to the head of the queue. With `version`, the
        call only applies to that version of the room (409 otherwise), so two tabs cannot both act."""
        turn = await room.floor_next(
            db, publisher, actor, user, meeting_id, expected_version=data.version if data else None
        )
        return {"speaker_id": None if turn is None else str(turn.user_id)}

    @post("/floor/end", status_code=200)
    async def floor_end(
        self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor, publisher: Publisher
    ) -> dict[str, Any]:
        await room.floor_end(db, publisher, actor, user, meeting_id)
        return {"ended": True}

    @post("/decisions", status_code=201)
    async def record_decision(
        self,
        meeting_id: UUID,
        data: NewDecision,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
    ) -> dict[str, Any]:
        positions = [room.PositionInput(p.agency_id, p.position, p.reason or "") for p in data.positions]
        decision = await room.record_decision(
            db,
            publisher,
            actor,
            user,
            meeting_id,
            data.agenda_item_id,
            data.text,
            data.outcome,
            positions,
        )
        return {
            "id": str(decision.id),
            "agenda_item_id": str(decision.agenda_item_id),
            "text": decision.text,
            "outcome": decision.outcome,
            "positions": [
                {"agency_id": str(p.agency_id), "position": p.position, "reason": p.reason or None}
                for p in decision.positions
            ],
        }

    @post("/actions", status_code=201)
    async def assign_action(
        self,
        meeting_id: UUID,
        data: NewAction,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> dict[str, Any]:
        new = room.ActionInput(
            data.title,
            data.owner_id,
            data.due_date,
            data.outcome_area,
            data.agenda_item_id,
            data.decision_id,
            data.agency_id,
        )
        action = await room.assign_action(db, publisher, actor, user, meeting_id, new, settings=settings)
        await db.refresh(action, ["owner", "agency"])
        return action_json(action, today_local())
