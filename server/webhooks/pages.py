"""Administration: webhook endpoints (list, add, remove) and what was delivered to each."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.errors import DomainError
from server.people.api import require_admin
from server.people.models import User
from server.web.forms import form_data, form_errors
from server.web.render import page, redirect
from server.web.types import HttpRequest
from server.webhooks import service
from server.webhooks.events import EVENT_LABELS, EventType


def _event_choices() -> list[tuple[str, str]]:
    return [(event.value, EVENT_LABELS[event]) for event in EventType]


class WebhookPages(Controller):
    path = "/admin/webhooks"
    include_in_schema = False

    async def _list(self, request: HttpRequest, db: AsyncSession, status_code: int = 200, **context: Any) -> Template:
        context.setdefault("errors", {})
        context.setdefault("values", {"events": []})
        return page(
            request,
            "admin/webhooks/index.html",
            status_code=status_code,
            endpoints=await service.list_endpoints(db),
            choices=_event_choices(),
            **context,
        )

    @get("/")
    async def index(self, request: HttpRequest, db: AsyncSession, user: User) -> Template:
        require_admin(user)
        return await self._list(request, db)

    @post("/")
    async def create(self, request: HttpRequest, db: AsyncSession, user: User, actor: Actor) -> Template:
        """The secret is shown on the page this answers, once: it never goes into a redirect."""
        require_admin(user)
        data = await form_data(request)
        events = [str(value) for value in (await request.form()).getall("events", [])]
        try:
            endpoint, secret = await service.create_endpoint(
                db, actor, url=data.get("url", ""), events=events, description=data.get("description", "")
            )
        except DomainError as error:
            return await self._list(request, db, 422, errors=form_errors(error), values={**data, "events": events})
        return page(request, "admin/webhooks/created.html", status_code=201, endpoint=endpoint, secret=secret)

    @get("/{webhook_id:uuid}")
    async def endpoint(self, request: HttpRequest, webhook_id: UUID, db: AsyncSession, user: User) -> Template:
        require_admin(user)
        summary = await service.endpoint_summary(db, webhook_id)
        found = await service.deliveries(db, webhook_id)
        return page(
            request,
            "admin/webhooks/endpoint.html",
            summary=summary,
            endpoint=summary.endpoint,
            deliveries=found,
            payloads={item.delivery.id: msgspec.json.format(item.delivery.body, indent=2).decode() for item in found},
        )

    @post("/{webhook_id:uuid}/delete")
    async def remove(
        self, request: HttpRequest, webhook_id: UUID, db: AsyncSession, user: User, actor: Actor
    ) -> Response[Any]:
        require_admin(user)
        await service.delete_endpoint(db, actor, webhook_id)
        return redirect(request, "/admin/webhooks", flash="The endpoint is removed: nothing more is sent to it.")
