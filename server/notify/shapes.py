"""How the in-app inbox looks in the JSON API."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec

from server.notify.models import Notification
from server.shapes import Timestamp, from_attributes, iso


class NotificationOut(msgspec.Struct):
    id: UUID
    kind: str
    title: str
    body: str
    link: str | None
    case_id: UUID | None
    created_at: Timestamp
    read: bool


class Unread(msgspec.Struct):
    unread: int


class Inbox(msgspec.Struct):
    """The newest notifications first, and how many of all of them are unread."""

    unread: int
    items: list[NotificationOut]


def notification_json(note: Notification) -> NotificationOut:
    return from_attributes(NotificationOut, note, created_at=iso(note.created_at), read=note.read_at is not None)


def inbox_json(unread: int, items: Iterable[Notification]) -> Inbox:
    return Inbox(unread=unread, items=[notification_json(n) for n in items])
