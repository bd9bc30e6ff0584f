"""JSON API: an action and its history, changing it after the meeting, and the inbox."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions import service
from server.actions.shapes import ActionDetail, detail_json
from server.audit.service import Actor, record
from server.config import Settings
from server.live.events import Publisher
from server.notify import notifications
from server.notify.shapes import Inbox, Unread, inbox_json
from server.people.models import User
from server.platform.db import transaction
from server.timeutil import today_local

Reason = Annotated[str, msgspec.Meta(max_length=2000)]


class ActionPatch(msgspec.Struct, forbid_unknown_fields=True):
    status: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    due_date: date | None = None
    owner_id: UUID | None = None
    progress_note: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    reason: Reason | None = None
    acceptance: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    snoozed_until: date | None = None


class ActionsApi(Controller):
    path = "/api"
    tags = ["Actions"]

    @get("/actions/{action_id:uuid}")
    async def get_action(self, action_id: UUID, db: AsyncSession, user: User, actor: Actor) -> ActionDetail:
        """An action with its whole history."""
        action, _ = await service.visible_action(db, user, action_id)
        events = await service.history(db, action_id)
        async with transaction(db):
            record(db, actor, "action.view", "action", action_id, case_id=action.case_id)
        return detail_json(action, events, today_local())

    @patch("/actions/{action_id:uuid}")
    async def change_action(
        self,
        action_id: UUID,
        data: ActionPatch,
        db: AsyncSession,
        user: User,
        actor: Actor,
        publisher: Publisher,
        settings: Settings,
    ) -> ActionDetail:
        """Change an action: status (open, in_progress, done, not_achieved, blocked, cancelled), due
        date or owner (chair or lead professional, with a reason), a progress note, acceptance
        (accepted, or declined with a reason), or snoozed_until (the owner, once, with a reason)."""
        change = service.ActionChange(**msgspec.structs.asdict(data))
        action = await service.change_action(
            db, publisher, settings, actor, user, action_id, change, today=today_local()
        )
        await db.refresh(action, ["owner", "agency"])
        return detail_json(action, await service.history(db, action_id), today_local())

    @get("/notifications")
    async def inbox(self, db: AsyncSession, user: User) -> Inbox:
        """The signed-in user's inbox, newest first."""
        items = await notifications.inbox(db, user.id)
        return inbox_json(await notifications.unread_count(db, user.id), items)

    @post("/notifications/read", status_code=200)
    async def mark_read(self, db: AsyncSession, user: User) -> Unread:
        await notifications.mark_all_read(db, user.id)
        return Unread(unread=0)
