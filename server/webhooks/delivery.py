"""Sending what is due in the webhook outbox, the way the e-mail outbox sends mail.

Each delivery is claimed (FOR UPDATE SKIP LOCKED), posted, and marked in a transaction of its
own, so any number of workers share the work and a worker killed mid-run repeats at most the one
delivery it was sending, under the same webhook-id (receivers deduplicate on it). A receiver that
does not answer 2xx is tried again with the e-mail back-off (server/notify/backoff.py) for as
long as it takes: nothing is ever dropped. When a receiver is down (no connection, no answer in
time, 429 or 5xx) its other due deliveries wait the same back-off, so an outage costs one
request per back-off period rather than one per waiting event.

A pass serves up to LANES endpoints at once and each endpoint from one lane at a time, oldest
first: a slow receiver holds up only itself, and one receiver gets its events in order from a
worker. A pass stops claiming after PASS_SECONDS, so that the e-mail of the next run is never
held up for long behind a slow receiver; what is left goes in the next run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field

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
WAITING_NOTE = "held back: the receiver did not answer an earlier delivery"
LANES = 4
PASS_SECONDS = 60.0


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
    run = _Pass(maker, settings.webhook_timeout_seconds, limit, time.monotonic() + PASS_SECONDS)
    try:
        await asyncio.gather(*(run.lane() for _ in range(LANES)))
    finally:
        if run.client is not None:
            await run.client.aclose()
    return DeliveryReport(run.delivered, run.failed)


@dataclass
class _Pass:
    maker: async_sessionmaker[AsyncSession]
    timeout: float
    limit: int
    deadline: float
    delivered: int = 0
    failed: int = 0
    client: httpx.AsyncClient | None = None
    busy: set[uuid.UUID] = field(default_factory=set)  # endpoints a lane is sending to now
    claiming: asyncio.Lock = field(default_factory=asyncio.Lock)  # one claim at a time: busy stays true

    async def lane(self) -> None:
        while self.delivered + self.failed < self.limit and time.monotonic() < self.deadline:
            async with self.maker() as session, transaction(session):
                async with self.claiming:
                    row = await _claim(session, frozenset(self.busy))
                    if row is None:
                        return
                    self.busy.add(row.endpoint_id)
                try:
                    await self._send(session, row)
                finally:
                    self.busy.discard(row.endpoint_id)

    async def _send(self, session: AsyncSession, row: WebhookDelivery) -> None:
        self.client = self.client or _client(self.timeout)
        answer = await attempt(self.client, row, self.timeout)
        _record(session, row, answer)
        if answer.delivered:
            self.delivered += 1
            return
        self.failed += 1
        # The endpoint's id, not its URL: a query string may hold the receiver's token.
        log.info("webhook %s to endpoint %s: %s", row.webhook_id, row.endpoint_id, answer.error)
        if answer.receiver_down:
            await _back_off_the_rest(session, row)


def _client(timeout: float) -> httpx.AsyncClient:
    """Redirects are not followed: a receiver answers where it was registered, or fails."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, headers={"user-agent": USER_AGENT})


async def _claim(session: AsyncSession, busy: frozenset[uuid.UUID]) -> WebhookDelivery | None:
    """The oldest due delivery to an endpoint no other lane of this pass is sending to."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at <= utcnow())
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
        .limit(1)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    if busy:
        query = query.where(WebhookDelivery.endpoint_id.not_in(busy))
    return await session.scalar(query)


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
