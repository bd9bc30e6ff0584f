"""Administration: the outbox. With no mail server configured this is where the demo shows what
would have been sent; with one, it shows what is waiting and why. Opening a message is audited."""

from __future__ import annotations

import re
from uuid import UUID

from litestar import Controller, get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor, record
from server.errors import NotFound
from server.notify.models import OutboxMessage
from server.notify.outbox import readable_text, recent
from server.people.api import require_admin
from server.people.models import Invitation, User
from server.people.tokens import digest
from server.platform.db import transaction, utcnow
from server.web.render import page
from server.web.types import HttpRequest

INVITATION_LINK = re.compile(r"/invitations/([A-Za-z0-9_-]{16,200})")
MASK = "/invitations/•••••• (hidden: this single-use link still works, and is for the invited person alone)"


async def masked(session: AsyncSession, text: str) -> str:
    """The message with every invitation link that still works hidden: an administrator reading
    the outbox must not be able to set someone else's password. Used or expired links show."""
    tokens = set(INVITATION_LINK.findall(text))
    if not tokens:
        return text
    working = set(
        await session.scalars(
            select(Invitation.token_hash).where(
                Invitation.token_hash.in_([digest(t) for t in tokens]),
                Invitation.used_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
    )
    return INVITATION_LINK.sub(lambda m: MASK if digest(m.group(1)) in working else m.group(0), text)


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
        text = await masked(db, readable_text(row.message))
        return page(request, "admin/outbox_message.html", message=row, text=text)
