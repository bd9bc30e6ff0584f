"""Sending what is due in the webhook outbox, the way the e-mail outbox sends mail.

Each delivery is claimed (FOR UPDATE SKIP LOCKED), posted, and marked in a transaction of its
own, so any number of workers share the work and a worker killed mid-run repeats at most the one
delivery it was sending, under the same webhook-id (receivers deduplicate on it). A receiver that
does not answer 2xx is tried again with the e-mail back-off (server/notify/backoff.py) for as
long as it takes: nothing is ever dropped. When a receiver is down (no connection, no answer in
time, 429 or 5xx) its other due deliveries wait the same back-off, so an outage costs one
request per back-off period rather than one per waiting event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.notify.backoff import next_retry_after
from server.platform.db import transaction, utcnow
from server.webhooks.models import WebhookAttempt, WebhookDelivery
from server.webhooks.signing import signed_headers

log = logging.getLogger("roundtable.webhooks")

USER_AGENT = "Roundtable-Webhooks/1"
EXCERPT_BYTES = 300  # of a refusal's body, kept to show why
READ_AT_MOST = 65_536
WAITING_NOTE = "not sent yet: the receiver did not answer an earlier delivery"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int
    failed: int  # attempts that failed and will be tried again


@dataclass(frozen=True, slots=True)
class Answer:
    """How one attempt went."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def receiver_down(self) -> bool:
        """Not this delivery's fault: the receiver is unreachable or overloaded."""
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500


async def deliver_pending(
    maker: async_sessionmaker[AsyncSession], settings: Settings, *, limit: int = 10_000
) -> DeliveryReport:
    delivered = failed = 0
    client: httpx.AsyncClient | None = None
    try:
        while delivered + failed < limit:
            async with maker() as session, transaction(session):
                row = await _claim(session)
                if row is None:
                    break
                client = client or _client(settings.webhook_timeout_seconds)
                answer = await attempt(client, row, settings.webhook_timeout_seconds)
                _record(session, row, answer)
                if answer.delivered:
                    delivered += 1
                    continue
                failed += 1
                log.info("webhook %s to %s: %s", row.webhook_id, row.endpoint.url, answer.error)
                if answer.receiver_down:
                    await _back_off_the_rest(session, row)
    finally:
        if client is not None:
            await client.aclose()
    return DeliveryReport(delivered, failed)


def _client(timeout: float) -> httpx.AsyncClient:
    """Redirects are not followed: a receiver answers where it was registered, or fails."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, headers={"user-agent": USER_AGENT})


async def _claim(session: AsyncSession) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at <= utcnow())
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
        .limit(1)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )


async def attempt(client: httpx.AsyncClient, row: WebhookDelivery, seconds: float) -> Answer:
    """Post the delivery once, signed now; never raises for anything the receiver does."""
    started = time.perf_counter()
    signed = signed_headers(row.endpoint.secret, row.webhook_id, row.body, utcnow())
    headers = {"content-type": "application/json", **signed}
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(seconds):
            async with client.stream("POST", row.endpoint.url, content=row.body, headers=headers) as response:
                said = await _read(response)
                status = response.status_code
                if not 200 <= status < 300:
                    error = _refusal(response, said)
    except (TimeoutError, httpx.TimeoutException):
        status, error = None, f"no answer within {seconds:g} s"
    except httpx.ConnectError as problem:
        error = f"could not connect: {problem or 'refused'}"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as problem:
        error = f"{type(problem).__name__}: {problem}"[:1000]
    return Answer(status, error, round((time.perf_counter() - started) * 1000))


async def _read(response: httpx.Response) -> bytes:
    """The start of the answer. Reading a short answer to its end lets the connection be reused;
    a long one is cut off (and its connection dropped)."""
    said = b""
    async for chunk in response.aiter_bytes():
        said += chunk
        if len(said) > READ_AT_MOST:
            break
    return said


def _refusal(response: httpx.Response, said: bytes) -> str:
    """ "answered 500", with the start of what the receiver said, to show the administrator why."""
    text = said[:EXCERPT_BYTES].decode("utf-8", "replace").strip()
    if 300 <= response.status_code < 400:
        text = "redirects are not followed: register the address it points to"
    return f"answered {response.status_code}" + (f": {text}" if text else "")


def _record(session: AsyncSession, row: WebhookDelivery, answer: Answer) -> None:
    now = utcnow()
    row.attempts += 1
    if answer.delivered:
        row.delivered_at, row.last_error = now, None
    else:
        row.last_error = answer.error
        row.next_attempt_at = now + next_retry_after(row.attempts)
    session.add(
        WebhookAttempt(
            delivery_id=row.id,
            at=now,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
            next_attempt_at=None if answer.delivered else row.next_attempt_at,
        )
    )


async def _back_off_the_rest(session: AsyncSession, row: WebhookDelivery) -> None:
    """The receiver is down: its other due deliveries wait until this one is tried again. They
    were not sent, so they record no attempt."""
    waiting = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == row.endpoint_id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.next_attempt_at < row.next_attempt_at,
            WebhookDelivery.id != row.id,
        )
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(waiting.scalar_subquery()))
        .values(next_attempt_at=row.next_attempt_at, last_error=WAITING_NOTE)
        .execution_options(synchronize_session=False)
    )
