"""Webhook endpoints, and emitting events to them.

:func:`emit` writes one delivery per subscribed endpoint into the webhook outbox inside the
caller's transaction: a change that rolls back sends nothing, and one that commits is always
delivered, however long the receiver is down. The helpers below it build each event's payload
from the rows of the change, so that the code making the change needs one line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import any_, delete, exists, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.actions.models import Action
from server.audit.service import Actor, record
from server.cases.models import Case
from server.cases.timescales import Milestone
from server.errors import Invalid, NotFound, Problem, Problems
from server.limits import too_long
from server.meetings.models import Meeting
from server.platform.db import transaction, utcnow
from server.webhooks import events as ev
from server.webhooks.events import Envelope, EventType, Payload
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.signing import new_secret, new_webhook_id
from server.webhooks.urls import check_url

T = TypeVar("T")
R = TypeVar("R")

MAX_DESCRIPTION = 500


# --- endpoints -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointSummary:
    """An endpoint with its deliveries counted and its last success, for the administrator's page
    and the API alike: a receiver that keeps refusing shows as retries piling up."""

    endpoint: WebhookEndpoint
    delivered: int
    waiting: int
    retrying: int
    last_delivered_at: datetime | None


async def list_endpoints(session: AsyncSession, *, only: uuid.UUID | None = None) -> list[EndpointSummary]:
    """Every endpoint (or ``only`` that one), oldest first, with what waits for it and when it
    last took a delivery."""
    pending = WebhookDelivery.delivered_at.is_(None)
    query = (
        select(
            WebhookEndpoint,
            func.count(WebhookDelivery.id).filter(WebhookDelivery.delivered_at.is_not(None)),
            func.count(WebhookDelivery.id).filter(pending),
            func.count(WebhookDelivery.id).filter(pending, WebhookDelivery.attempts > 0),
            func.max(WebhookDelivery.delivered_at),
        )
        .outerjoin(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
        .group_by(WebhookEndpoint.id)
        .order_by(WebhookEndpoint.created_at)
    )
    if only is not None:
        query = query.where(WebhookEndpoint.id == only)
    return [EndpointSummary(*row) for row in (await session.execute(query)).all()]


async def endpoint_summary(session: AsyncSession, endpoint_id: uuid.UUID) -> EndpointSummary:
    found = await list_endpoints(session, only=endpoint_id)
    if not found:
        raise NotFound("No such webhook endpoint.")
    return found[0]


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def _checked_events(names: Sequence[str]) -> list[str]:
    try:
        chosen = ev.parse_events(tuple(names))
    except ValueError as error:
        known = ", ".join(EventType)
        raise Invalid(f"{error}: choose from {known}.", field="events", code="unknown_event") from None
    if not chosen:
        raise Invalid("Choose at least one event to send.", field="events", code="no_events")
    return [event.value for event in chosen]


def _where(url: str) -> str:
    """The URL without its query, for the audit trail: a query may carry the receiver's token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _or_problem(problems: dict[str, str], check: Callable[[T], R], value: T) -> R | None:
    """``check(value)``, or None with its refusal noted in ``problems``, so that every problem is
    told at once."""
    try:
        return check(value)
    except Invalid as refused:
        problems[refused.field or "form"] = Problem(refused.detail, refused.code)
        return None


async def create_endpoint(
    session: AsyncSession, actor: Actor, *, url: str, events: Sequence[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register a receiver; answers it with its signing secret, which is shown only this once."""
    problems: dict[str, str] = {}
    checked_url = _or_problem(problems, check_url, url)
    chosen = _or_problem(problems, _checked_events, events)
    description = description.strip()
    if message := too_long(description, MAX_DESCRIPTION, "the description"):
        problems["description"] = Problem(message, "too_long")
    if problems:
        raise Problems(problems)
    assert checked_url is not None
    assert chosen is not None
    secret = new_secret()
    async with transaction(session):
        endpoint = WebhookEndpoint(
            url=checked_url, events=chosen, description=description, secret=secret, created_by_id=actor.user_id
        )
        session.add(endpoint)
        await session.flush()
        record(session, actor, "webhook.create", "webhook", endpoint.id, url=_where(checked_url), events=chosen)
    return endpoint, secret


async def delete_endpoint(session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID) -> None:
    """Remove a receiver; what was still waiting for it is not sent (the audit row says how much)."""
    async with transaction(session):
        endpoint = await get_endpoint(session, endpoint_id)
        waiting = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.delivered_at.is_(None))
        )
        await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))
        record(
            session,
            actor,
            "webhook.delete",
            "webhook",
            endpoint.id,
            url=_where(endpoint.url),
            events=list(endpoint.events),
            undelivered=waiting or 0,
        )


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def state(self) -> str:
        """delivered; retrying (tried, failed, will be tried again); pending (not tried yet)."""
        if self.delivery.delivered_at is not None:
            return "delivered"
        return "retrying" if self.delivery.attempts else "pending"


async def deliveries(session: AsyncSession, endpoint_id: uuid.UUID, *, limit: int = 100) -> list[DeliveryRecord]:
    """The endpoint's newest deliveries, each with every attempt, oldest attempt first."""
    await get_endpoint(session, endpoint_id)
    rows = (
        await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
        )
    ).all()
    found = {row.id: DeliveryRecord(row) for row in rows}
    if found:
        tries = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(found)))
            .order_by(WebhookAttempt.at, WebhookAttempt.id)
        )
        for attempt in tries:
            found[attempt.delivery_id].attempts.append(attempt)
    return list(found.values())


# --- emitting ------------------------------------------------------------------------------------

# One statement however many events and endpoints: every event of the batch for every endpoint
# subscribed to its type, in the order given.
_FAN_OUT = text(
    "INSERT INTO webhook_deliveries (id, endpoint_id, webhook_id, event, body, attempts, next_attempt_at, created_at)"
    " SELECT gen_random_uuid(), e.id, m.webhook_id, CAST(:event AS varchar), m.body, 0,"
    " clock_timestamp(), clock_timestamp()"
    " FROM unnest(CAST(:webhook_id AS text[]), CAST(:body AS bytea[])) WITH ORDINALITY AS m(webhook_id, body, n)"
    " CROSS JOIN webhook_endpoints e WHERE CAST(:event AS varchar) = ANY(e.events) ORDER BY m.n, e.id"
)


def _body(event: EventType, payload: Payload) -> bytes:
    if type(payload) is not ev.PAYLOADS[event]:
        raise TypeError(f"{event} carries {ev.PAYLOADS[event].__name__}, not {type(payload).__name__}")
    return msgspec.json.encode(Envelope(type=event.value, timestamp=utcnow(), data=payload))


async def emit(session: AsyncSession, event: EventType, payload: Payload) -> int:
    """Send ``event`` to every endpoint subscribed to it, when the caller's transaction commits.
    Call it inside that transaction; answers how many deliveries were queued."""
    return await emit_many(session, event, [payload])


async def emit_many(session: AsyncSession, event: EventType, payloads: Sequence[Payload]) -> int:
    """Many events of one type (a chase pass's newly overdue actions) in one statement."""
    if not payloads:
        return 0
    bodies = [_body(event, payload) for payload in payloads]
    result = await session.execute(
        _FAN_OUT, {"event": event.value, "webhook_id": [new_webhook_id() for _ in bodies], "body": bodies}
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def subscribed(session: AsyncSession, event: EventType) -> bool:
    """Whether any endpoint wants ``event``: the helpers below skip building payloads otherwise."""
    wanted = exists().where(literal(event.value) == any_(WebhookEndpoint.events))
    return bool(await session.scalar(select(wanted)))


async def _reference(session: AsyncSession, case_id: uuid.UUID) -> str:
    case = await session.get(Case, case_id)
    assert case is not None
    return case.reference


async def meeting_ended(session: AsyncSession, meeting: Meeting) -> None:
    """meeting.ended, with the ids of the actions agreed in it."""
    if not await subscribed(session, EventType.MEETING_ENDED):
        return
    await session.flush()
    query = select(Action.id).where(Action.meeting_id == meeting.id).order_by(Action.created_at, Action.id)
    action_ids = list((await session.scalars(query)).all())
    payload = ev.meeting_ended(meeting, await _reference(session, meeting.case_id), action_ids)
    await emit(session, EventType.MEETING_ENDED, payload)


async def action_created(session: AsyncSession, action: Action) -> None:
    if await subscribed(session, EventType.ACTION_CREATED):
        await session.flush()  # the row's defaults (created_at, status) are filled in
        payload = ev.action_data(action, await _reference(session, action.case_id))
        await emit(session, EventType.ACTION_CREATED, payload)


async def action_updated(session: AsyncSession, action: Action, changes: Sequence[str]) -> None:
    if await subscribed(session, EventType.ACTION_UPDATED):
        await session.flush()  # updated_at is set on flush
        payload = ev.action_updated(action, await _reference(session, action.case_id), list(changes))
        await emit(session, EventType.ACTION_UPDATED, payload)


async def actions_overdue(session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> None:
    """action.overdue for each of these actions, read in one query."""
    if not action_ids or not await subscribed(session, EventType.ACTION_OVERDUE):
        return
    rows = await session.execute(
        select(Action, Case.reference)
        .join(Case, Case.id == Action.case_id)
        .where(Action.id.in_(list(action_ids)))
        .order_by(Action.due_date, Action.id)
    )
    await emit_many(session, EventType.ACTION_OVERDUE, [ev.action_data(action, ref) for action, ref in rows])


async def timescales_overdue(session: AsyncSession, found: Sequence[tuple[uuid.UUID, str, Milestone]]) -> None:
    """timescale.overdue for each (case id, case reference, milestone) the chase first found
    overdue; the chase ledger makes that once per milestone."""
    if not found or not await subscribed(session, EventType.TIMESCALE_OVERDUE):
        return
    payloads = [
        ev.TimescaleOverdue(
            case_id=case_id,
            case_reference=reference,
            kind=milestone.kind.value,
            due_on=milestone.due_on,
            meeting_id=milestone.meeting_id,
            state=milestone.state.value,
        )
        for case_id, reference, milestone in found
    ]
    await emit_many(session, EventType.TIMESCALE_OVERDUE, payloads)


async def minutes_approved(
    session: AsyncSession, meeting: Meeting, approved_at: datetime, by: uuid.UUID | None
) -> None:
    """minutes.approved: ids, kind, status and the time, never the minutes themselves."""
    if not await subscribed(session, EventType.MINUTES_APPROVED):
        return
    payload = ev.MinutesApproved(
        meeting_id=meeting.id,
        case_id=meeting.case_id,
        case_reference=await _reference(session, meeting.case_id),
        meeting_kind=meeting.kind,
        status="approved",
        approved_at=approved_at,
        approved_by_id=by,
    )
    await emit(session, EventType.MINUTES_APPROVED, payload)
