"""JSON API: administrators register webhook endpoints and read what was delivered to them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import Actor
from server.people.api import require_admin
from server.people.models import User
from server.webhooks import service, shapes


class NewWebhook(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(max_length=4000)]  # the service says what the limit is
    events: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=20)]
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""


class WebhooksApi(Controller):
    path = "/api/webhooks"
    tags = ["Webhooks"]

    @get("/")
    async def list_webhooks(self, db: AsyncSession, user: User) -> list[shapes.Webhook]:
        """Every registered endpoint (without its secret), with what waits for it."""
        require_admin(user)
        return [shapes.webhook(summary) for summary in await service.list_endpoints(db)]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_webhook(
        self, data: NewWebhook, db: AsyncSession, user: User, actor: Actor
    ) -> shapes.NewWebhookAnswer:
        """Register an endpoint. The answer carries its signing secret, shown this once only."""
        require_admin(user)
        endpoint, secret = await service.create_endpoint(
            db, actor, url=data.url, events=data.events, description=data.description
        )
        return shapes.new_webhook(endpoint, secret)

    @delete("/{webhook_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_webhook(self, webhook_id: UUID, db: AsyncSession, user: User, actor: Actor) -> None:
        """Remove an endpoint; deliveries still waiting for it are dropped."""
        require_admin(user)
        await service.delete_endpoint(db, actor, webhook_id)

    @get("/{webhook_id:uuid}/deliveries")
    async def list_deliveries(
        self,
        webhook_id: UUID,
        db: AsyncSession,
        user: User,
        limit: Annotated[int, Parameter(ge=1, le=500, description="how many of the newest")] = 100,
    ) -> shapes.WebhookDeliveries:
        """The endpoint's newest deliveries, newest first, each with every attempt."""
        require_admin(user)
        summary = await service.endpoint_summary(db, webhook_id)
        found = await service.deliveries(db, webhook_id, limit=limit)
        return shapes.WebhookDeliveries(webhook=shapes.webhook(summary), deliveries=[shapes.delivery(d) for d in found])
