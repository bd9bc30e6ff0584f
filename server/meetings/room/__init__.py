"""Every operation of the live room, declared once (see server/meetings/commands.py).

The routes, the OpenAPI document and the live-update test all read :data:`COMMANDS`, so an
operation declared here is reachable as JSON and as a form, and is checked for the regions its
change must refresh."""

from __future__ import annotations

from typing import Any

from server.meetings.commands import Command
from server.meetings.room.agenda import ADD_ITEM, MOVE_ITEM, OPEN_ITEM, SET_VISIBILITY
from server.meetings.room.attendance import END, JOIN, LEAVE, START
from server.meetings.room.floor import FLOOR_END, FLOOR_NEXT, LOWER_HAND, MOVE_HAND, RAISE_HAND, ROUND
from server.meetings.room.record import ASSIGN_ACTION, RECORD_DECISION

COMMANDS: tuple[Command[Any, Any], ...] = (
    START,
    END,
    JOIN,
    LEAVE,
    ADD_ITEM,
    OPEN_ITEM,
    MOVE_ITEM,
    SET_VISIBILITY,
    RAISE_HAND,
    LOWER_HAND,
    MOVE_HAND,
    ROUND,
    FLOOR_NEXT,
    FLOOR_END,
    RECORD_DECISION,
    ASSIGN_ACTION,
)

__all__ = [
    "ADD_ITEM",
    "ASSIGN_ACTION",
    "COMMANDS",
    "END",
    "FLOOR_END",
    "FLOOR_NEXT",
    "JOIN",
    "LEAVE",
    "LOWER_HAND",
    "MOVE_HAND",
    "MOVE_ITEM",
    "OPEN_ITEM",
    "RAISE_HAND",
    "RECORD_DECISION",
    "ROUND",
    "SET_VISIBILITY",
    "START",
]
