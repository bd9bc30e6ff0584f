"""Webhook endpoints, and the webhook half of the outbox: one delivery per event and endpoint,
written in the transaction of the change, with every attempt to send it kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.platform.db import Base, CreatedMixin, IdMixin, utcnow


class WebhookEndpoint(IdMixin, CreatedMixin, Base):
    """A receiver an administrator registered: where to send which events, and the secret that
    signs them (the server must sign with it, so it is kept, and shown only once)."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    secret: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """One event for one endpoint, kept until the receiver answers 2xx. The body and the
    webhook-id stay the same on every attempt; each attempt is signed afresh."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "endpoint_id", name="uq_webhook_deliveries_webhook_id_endpoint_id"),
        Index("ix_webhook_deliveries_pending", "next_attempt_at", postgresql_where=text("delivered_at IS NULL")),
        Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined", innerjoin=True)


class WebhookAttempt(Base):
    """One try at a delivery: when, how the receiver answered (or why it could not), how long
    it took, and when the next try is due (none once delivered)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_at", "delivery_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
    next_attempt_at: Mapped[datetime | None]
