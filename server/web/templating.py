"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar.contrib.jinja import JinjaTemplateEngine

from server.actions.models import Acceptance, OutcomeArea
from server.conference.models import Category
from server.meetings.models import MeetingKind, Outcome, Position
from server.reports.text import light_format
from server.timeutil import clock, duration, today_local, zone


def local_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(zone())
    return local.strftime("%a %-d %b %Y, %H:%M")


def local_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(zone()).strftime("%H:%M")


def long_date(value: date | None) -> str:
    return "" if value is None else value.strftime("%a %-d %b %Y")


def iso_local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(zone()).isoformat()


def label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.filters.update(
        local_datetime=local_datetime,
        local_time=local_time,
        long_date=long_date,
        iso_local=iso_local,
        label=label,
        light_format=light_format,
        duration=duration,
        clock=clock,
    )
    globals_: dict[str, Any] = {
        "today_local": today_local,
        # The labelled enums, for the words of a stored value: {{ MeetingKind(meeting.kind).label }}
        "Acceptance": Acceptance,
        "Category": Category,
        "MeetingKind": MeetingKind,
        "Outcome": Outcome,
        "OutcomeArea": OutcomeArea,
        "Position": Position,
    }
    env.globals.update(globals_)
