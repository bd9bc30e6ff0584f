"""Dates and lengths of time as the deployment's people see them (a due date is a local date,
not a UTC one; speaking time is words a room reads at a glance)."""

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


def duration(seconds: float | None) -> str:
    """Speaking time in words: "under 1 s", "45 s", "4 min 05 s", "1 h 02 min"."""
    whole = round(seconds or 0)
    if whole < 1 and (seconds or 0) > 0:
        return "under 1 s"
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def clock(seconds: float | None) -> str:
    """A turn's timer as a clock shows it: "0:45", "4:05", "72:00" (never below "0:00")."""
    minutes, secs = divmod(max(round(seconds or 0), 0), 60)
    return f"{minutes}:{secs:02d}"
