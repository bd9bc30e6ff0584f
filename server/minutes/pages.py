"""Pages of the minutes: the printable page and the PDF download, each the reader's own copy."""

from __future__ import annotations

import asyncio
from uuid import UUID

from litestar import Controller, Response, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.minutes import snapshot as snap
from server.minutes.pdf import build_pdf
from server.minutes.service import minutes_for, pdf_filename
from server.people.models import User
from server.web.render import page
from server.web.types import HttpRequest


class MinutesPages(Controller):
    include_in_schema = False
    path = "/meetings/{meeting_id:uuid}"

    @get("/minutes")
    async def minutes(
        self,
        request: HttpRequest,
        meeting_id: UUID,
        db: AsyncSession,
        user: User,
        actor: Actor,
    ) -> Template:
        """The minutes as issued (404 until the meeting has ended); the family's copy for family."""
        copy = await minutes_for(db, actor, user, meeting_id)
        minutes = copy.snapshot
        actions = {a["id"]: a for a in minutes["actions"]}
        return page(
            request,
            "minutes/minutes.html",
            minutes=minutes,
            meeting=minutes["meeting"],
            audience=copy.audience,
            issued_at=copy.issued_at,
            actions_by_id=actions,
            when=snap.local_datetime,
            at=snap.local_time,
            day=snap.long_date,
            duration=snap.duration,
        )

    @get("/minutes.pdf")
    async def minutes_pdf(self, meeting_id: UUID, db: AsyncSession, user: User, actor: Actor) -> Response[bytes]:
        """The same copy as a PDF download (audited as an export)."""
        copy = await minutes_for(db, actor, user, meeting_id, purpose="export")
        content = await asyncio.to_thread(build_pdf, copy.snapshot)
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{pdf_filename(copy.snapshot)}"'},
        )
