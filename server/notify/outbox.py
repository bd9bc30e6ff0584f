"""The outbox: e-mail is written in the same transaction as the change that caused it, and a
worker sends it afterwards, so an SMTP outage delays a message and never loses it."""

from __future__ import annotations

import contextlib
import logging
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db import transaction, utcnow
from server.notify.backoff import next_retry_after
from server.notify.models import OutboxMessage

log = logging.getLogger("roundtable.outbox")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


@dataclass(frozen=True, slots=True)
class Email:
    to: Sequence[str]
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = ()


def build_message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="roundtable")
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        message.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return message


async def enqueue(
    session: AsyncSession,
    settings: Settings,
    email: Email,
    *,
    dedupe_key: str | None = None,
    case_id: uuid.UUID | None = None,
) -> None:
    """Add to the outbox inside the caller's transaction; a repeated dedupe_key is ignored."""
    message = build_message(email, settings.mail_from)
    statement = (
        insert(OutboxMessage)
        .values(
            id=uuid.uuid4(),
            dedupe_key=dedupe_key,
            recipients=", ".join(email.to),
            subject=email.subject[:300],
            message=message.as_bytes(),
            case_id=case_id,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    await session.execute(statement)


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    failed: int


async def send_pending(maker: async_sessionmaker[AsyncSession], settings: Settings, *, batch: int = 200) -> SendReport:
    """Send what is due, one batch per transaction. Rows are locked with SKIP LOCKED, so several
    workers share the outbox without sending a message twice."""
    sent = failed = 0
    while True:
        async with maker() as session, transaction(session):
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= utcnow())
                    .order_by(OutboxMessage.created_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return SendReport(sent, failed)
            ok, bad = await _deliver(rows, settings)
            sent, failed = sent + ok, failed + bad
            if bad:
                return SendReport(sent, failed)


async def _deliver(rows: Sequence[OutboxMessage], settings: Settings) -> tuple[int, int]:
    if settings.smtp_url is None:
        for row in rows:
            _keep_locally(row, settings.data_dir)
        return len(rows), 0
    try:
        smtp = _client(settings.smtp_url)
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError) as error:
        for row in rows:
            _failed(row, f"cannot reach the mail server: {error}")
        log.warning("outbox: mail server unreachable (%s); %d messages wait", error, len(rows))
        return 0, len(rows)
    ok = bad = 0
    try:
        for row in rows:
            try:
                await smtp.send_message(_parse(row.message))
            except (aiosmtplib.SMTPException, OSError) as error:
                _failed(row, str(error))
                bad += 1
            else:
                row.sent_at = utcnow()
                row.attempts += 1
                ok += 1
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await smtp.quit()
    return ok, bad


def _client(url: str) -> aiosmtplib.SMTP:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    return aiosmtplib.SMTP(
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if secure else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=secure,
        start_tls=None,
        tls_context=ssl.create_default_context() if secure else None,
        timeout=20,
    )


def _parse(raw: bytes) -> EmailMessage:
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.SMTP)
    assert isinstance(message, EmailMessage)
    return message


def _failed(row: OutboxMessage, error: str) -> None:
    row.attempts += 1
    row.last_error = error[:1000]
    row.next_attempt_at = utcnow() + next_retry_after(row.attempts)


def _keep_locally(row: OutboxMessage, data_dir: Path) -> None:
    """With no mail server configured, keep a readable copy so the demo shows what was sent."""
    folder = data_dir / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{row.created_at:%Y%m%dT%H%M%S}-{row.id}.eml").write_bytes(row.message)
    row.sent_at = utcnow()
    row.attempts += 1
    row.last_error = "no mail server configured: kept as a file in the data folder"
