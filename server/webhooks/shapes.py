"""How webhook endpoints and their deliveries look in the JSON API."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from server.shapes import from_attributes
from server.webhooks.models import WebhookEndpoint
from server.webhooks.service import DeliveryRecord, EndpointSummary


class Webhook(msgspec.Struct, kw_only=True):
    id: UUID
    url: str
    events: list[str]
    description: str
    created_at: datetime
    delivered: int  # deliveries the receiver took (answered 2xx)
    waiting: int  # deliveries not yet taken by the receiver
    retrying: int  # of those, the ones already tried and refused
    last_delivered_at: datetime | None


class NewWebhookAnswer(Webhook, kw_only=True):
    secret: str  # whsec_...: shown in this answer only


class DeliveryAttempt(msgspec.Struct, kw_only=True):
    at: datetime
    status_code: int | None  # the receiver's answer; none when it could not be reached in time
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None  # the retry this failure scheduled


class WebhookDeliveryAnswer(msgspec.Struct, kw_only=True):
    id: UUID
    webhook_id: str  # the webhook-id header: the same on every attempt
    event: str
    state: str  # pending, retrying or delivered
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    attempts: list[DeliveryAttempt]


class WebhookDeliveries(msgspec.Struct, kw_only=True):
    webhook: Webhook
    deliveries: list[WebhookDeliveryAnswer]


def webhook(summary: EndpointSummary) -> Webhook:
    return from_attributes(
        Webhook,
        summary.endpoint,
        events=list(summary.endpoint.events),
        delivered=summary.delivered,
        waiting=summary.waiting,
        retrying=summary.retrying,
        last_delivered_at=summary.last_delivered_at,
    )


def new_webhook(endpoint: WebhookEndpoint, secret: str) -> NewWebhookAnswer:
    fields = msgspec.structs.asdict(webhook(EndpointSummary(endpoint, 0, 0, 0, None)))
    return NewWebhookAnswer(**fields, secret=secret)


def delivery(found: DeliveryRecord) -> WebhookDeliveryAnswer:
    row = found.delivery
    return from_attributes(
        WebhookDeliveryAnswer,
        row,
        state=found.state,
        next_attempt_at=None if row.delivered_at else row.next_attempt_at,
        attempts=[from_attributes(DeliveryAttempt, a) for a in found.attempts],
    )
