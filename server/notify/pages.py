"""Administration: the outbox. With no mail server configured this is where the demo shows what
would have been sent; with one, it shows what is waiting and why. Opening a message is audited."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.errors import NotFound
from server.notify.models import OutboxMessage
from server.notify.outbox import readable_text, recent
from server.people.api import require_admin
from server.people.models import User
from server.platform.db import transaction
from server.web.render import page
from server.web.types import HttpRequest


class OutboxPages(Controller):
    path = "/admin/outbox"
    include_in_schema = False

    @get("/")
    async def outbox(self, request: HttpRequest, db: AsyncSession, user: User) -> Template:
        require_admin(user)
        return page(
            request,
            "admin/outbox.html",
            messages=await recent(db),
            mail_server=request.app.state["runtime"].settings.smtp_url is not None,
        )

    @get("/{message_id:uuid}")
    async def message(
        self, request: HttpRequest, message_id: UUID, db: AsyncSession, user: User, actor: Actor
    ) -> Template:
        require_admin(user)
        row = await db.get(OutboxMessage, message_id)
        if row is None:
            raise NotFound("No such message.")
        async with transaction(db):
            record(db, actor, "outbox.view", "outbox", message_id, case_id=row.case_id)
        return page(request, "admin/outbox_message.html", message=row, text=readable_text(row.message))
