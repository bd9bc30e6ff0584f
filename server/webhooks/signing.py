"""Signing a delivery as the Standard Webhooks specification says, with its reference library.

The signature is ``v1,`` and the base64 HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}``
under the endpoint's secret (``whsec_`` and the base64 key). The timestamp is the time of the
attempt, so every retry is signed afresh and a receiver can refuse a replayed old message."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32  # the specification asks for 24 to 64 random bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_webhook_id() -> str:
    """The webhook-id: the same on every attempt of one event, and for every endpoint."""
    return f"msg_{uuid.uuid4().hex}"


def signed_headers(secret: str, webhook_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt at ``now``."""
    seconds = int(now.timestamp())
    signature = Webhook(secret).sign(webhook_id, datetime.fromtimestamp(seconds, UTC), body.decode())
    return {"webhook-id": webhook_id, "webhook-timestamp": str(seconds), "webhook-signature": signature}
