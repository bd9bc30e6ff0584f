"""Dates as the deployment's people see them (a due date is a local date, not a UTC one)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

_zone = ZoneInfo("Europe/London")


def set_zone(name: str) -> None:
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone


def today_local(now: datetime | None = None) -> date:
    return (now or datetime.now(_zone)).astimezone(_zone).date()
