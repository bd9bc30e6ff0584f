"""The outbox: e-mail and webhooks are written in the same transaction as the change that caused
them, and a worker sends them afterwards, so an SMTP outage or a receiver that is down delays a
message and never loses it. E-mail is sent here; webhooks by server/webhooks/delivery.py, with
the same claiming, the same back-off and the same pass (:func:`send_pending`)."""

from __future__ import annotations

import contextlib
import logging
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.text import MIMEText
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.notify.backoff import next_retry_after
from server.notify.models import OutboxMessage
from server.platform.db import transaction, utcnow

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


def build_message(email: Email, sender: str) -> Message:
    """The RFC 5322 message. Plain text (most reminders) takes the light compat32 path, which is
    several times faster when a chase pass writes thousands of digests."""
    message: Message
    if email.html is None and not email.attachments:
        message = MIMEText(email.text, "plain", "utf-8")
        message["Subject"] = Header(email.subject, "utf-8").encode()
    else:
        rich = EmailMessage()
        rich.set_content(email.text)
        if email.html:
            rich.add_alternative(email.html, subtype="html")
        for item in email.attachments:
            rich.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
        rich["Subject"] = email.subject
        message = rich
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="roundtable")
    return message


def _row(settings: Settings, email: Email, dedupe_key: str | None, case_id: uuid.UUID | None) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "dedupe_key": dedupe_key,
        "recipients": ", ".join(email.to),
        "subject": email.subject[:300],
        "message": build_message(email, settings.mail_from).as_bytes(),
        "case_id": case_id,
    }


async def enqueue(
    session: AsyncSession,
    settings: Settings,
    email: Email,
    *,
    dedupe_key: str | None = None,
    case_id: uuid.UUID | None = None,
) -> None:
    """Add to the outbox inside the caller's transaction; a repeated dedupe_key is ignored."""
    statement = (
        insert(OutboxMessage)
        .values(_row(settings, email, dedupe_key, case_id))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    await session.execute(statement)


async def enqueue_many(session: AsyncSession, settings: Settings, emails: Sequence[Email]) -> None:
    """Many messages (a chase pass's digests) in one statement, inside the caller's transaction."""
    if emails:
        await session.execute(insert(OutboxMessage), [_row(settings, email, None, None) for email in emails])


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    failed: int
    webhooks_delivered: int = 0
    webhooks_failed: int = 0


async def send_pending(
    maker: async_sessionmaker[AsyncSession], settings: Settings, *, limit: int = 10_000
) -> SendReport:
    """Send everything due: e-mail, then webhooks. Each has its own outages and back-off: a mail
    server that is down does not hold up webhooks, nor a receiver that is down the e-mail."""
    from server.webhooks.delivery import deliver_pending  # only workers load the HTTP client

    mail = await send_mail(maker, settings, limit=limit)
    hooks = await deliver_pending(maker, settings, limit=limit)
    return SendReport(mail.sent, mail.failed, hooks.delivered, hooks.failed)


async def send_mail(maker: async_sessionmaker[AsyncSession], settings: Settings, *, limit: int = 10_000) -> SendReport:
    """Send the e-mail that is due. Each message is claimed (FOR UPDATE SKIP LOCKED), sent and marked sent in
    a transaction of its own, over one SMTP connection: several workers share the outbox, and a
    worker killed mid-run can repeat at most the one message it was sending."""
    smtp = None
    sent = failed = 0
    try:
        while sent + failed < limit:
            async with maker() as session, transaction(session):
                row = await session.scalar(
                    select(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= utcnow())
                    .order_by(OutboxMessage.next_attempt_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if row is None:
                    break
                if settings.smtp_url is None:
                    _keep_locally(row, settings.data_dir)
                    sent += 1
                    continue
                if smtp is None:
                    try:
                        smtp = await _connect(settings.smtp_url)
                    except (aiosmtplib.SMTPException, OSError) as error:
                        _failed(row, f"cannot reach the mail server: {error}")
                        failed += 1 + await _back_off_the_rest(session, f"cannot reach the mail server: {error}")
                        log.warning("outbox: mail server unreachable (%s); %d messages wait", error, failed)
                        return SendReport(sent, failed)
                try:
                    await smtp.sendmail(_sender(settings), _recipients(row), row.message)
                except aiosmtplib.SMTPRecipientsRefused as error:
                    _failed(row, f"refused: {error}")
                    failed += 1
                except (aiosmtplib.SMTPException, OSError) as error:
                    _failed(row, str(error))
                    failed += 1 + await _back_off_the_rest(session, str(error))
                    log.warning("outbox: sending failed (%s); %d messages wait", error, failed)
                    return SendReport(sent, failed)
                else:
                    row.sent_at = utcnow()
                    row.attempts += 1
                    sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()
    return SendReport(sent, failed)


async def _back_off_the_rest(session: AsyncSession, error: str) -> int:
    """The mail server is down: every message now due waits its back-off, so an outage is not
    hammered one message per run."""
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= utcnow())
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        _failed(row, error)
    return len(rows)


async def _connect(url: str) -> aiosmtplib.SMTP:
    smtp = _client(url)
    await smtp.connect()
    return smtp


def _sender(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1] or "roundtable@localhost"


def _recipients(row: OutboxMessage) -> list[str]:
    return [address for _, address in getaddresses([row.recipients]) if address]


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


async def recent(session: AsyncSession, *, limit: int = 100) -> Sequence[OutboxMessage]:
    """The newest messages, for administrators to see what was (or would have been) sent."""
    return (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit))).all()


def readable_text(raw: bytes) -> str:
    """The plain-text body of a stored message, with its attachments named."""
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain",)) if isinstance(message, EmailMessage) else None
    text = body.get_content() if body is not None else ""
    names = [part.get_filename() for part in message.walk() if part.get_filename()]
    return text + ("\n\nAttached: " + ", ".join(str(n) for n in names) if names else "")
