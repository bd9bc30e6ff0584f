"""Every operation of the live room, declared once (see server/meetings/commands.py).

The routes, the OpenAPI document and the live-update test all read :data:`COMMANDS`, so an
operation listed here is reachable as JSON and as a form, and is checked for the regions its
change must refresh."""

from __future__ import annotations

from typing import Any

from server.conference.mapping import add_entry, edit_entry, remove_entry
from server.conference.notes import set_minute_taker, write_notes
from server.conference.outcome import record_outcome
from server.conference.scaling import open_scale, reveal_scale, score_scale
from server.conference.voice import record_child_voice
from server.meetings.commands import Command
from server.meetings.room.agenda import add_item, move_item, open_item, set_visibility
from server.meetings.room.attendance import end, join, leave, start
from server.meetings.room.floor import floor_end, floor_next, lower_hand, move_hand, raise_hand, start_round
from server.meetings.room.record import assign_action, record_decision
from server.meetings.room.settings import set_chair_voice

COMMANDS: tuple[Command[Any, Any], ...] = (
    start,
    end,
    join,
    leave,
    add_item,
    open_item,
    move_item,
    set_visibility,
    raise_hand,
    lower_hand,
    move_hand,
    start_round,
    floor_next,
    floor_end,
    record_decision,
    assign_action,
    set_chair_voice,
    # the conference (server/conference)
    set_minute_taker,
    write_notes,
    record_child_voice,
    add_entry,
    edit_entry,
    remove_entry,
    open_scale,
    score_scale,
    reveal_scale,
    record_outcome,
)

__all__ = [
    "COMMANDS",
    "add_item",
    "assign_action",
    "end",
    "floor_end",
    "floor_next",
    "join",
    "leave",
    "lower_hand",
    "move_hand",
    "move_item",
    "open_item",
    "raise_hand",
    "record_decision",
    "set_chair_voice",
    "set_visibility",
    "start",
    "start_round",
]
