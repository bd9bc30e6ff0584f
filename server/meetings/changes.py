"""The kinds of change a meeting goes through, and what each one writes.

Every change to a meeting raises its version and carries one kind, so that whoever listens can
tell what happened without reading the room. What a kind writes (the parts of the room to read
again) is domain knowledge and lives here; which regions of the page show it is the live part's
business (server/live/regions.py)."""

from __future__ import annotations

from enum import StrEnum


class ChangeKind(StrEnum):
    """The `type` of a JSON socket message, and what a web process is told after a commit."""

    STARTED = "started"
    ENDED = "ended"
    ATTENDANCE = "attendance"
    ITEM_OPENED = "item_opened"
    AGENDA = "agenda"
    VISIBILITY = "visibility"  # who may see an agenda item, and so everything under it
    QUEUE = "queue"
    FLOOR = "floor"
    DECISION = "decision"
    ACTION = "action"  # an action agreed in the room
    ACTION_UPDATED = "action_updated"  # an action changed outside the room (accepted, done, moved…)
    TEAM = "team"  # the case's team or its name, or a team member's name or agency, changed
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    SETTINGS = "settings"  # a setting of the meeting itself (whether the chair speaks for an agency)
    NOTES = "notes"  # the live notes of an agenda item
    MINUTE_TAKER = "minute_taker"
    OUTCOME = "outcome"  # the conference's outcome: plan or not, categories, each agency's view
    MAPPING = "mapping"  # an entry on the Signs of Safety board
    SCALE = "scale"  # a scaling question opened, scored or revealed
    CHILD_VOICE = "child_voice"


class Part(StrEnum):
    """The parts a room is read from, besides the meeting row and its case (read again after every
    change, except by the change's own read ahead, which has the row it wrote)."""

    AGENDA = "agenda"
    TEAM = "team"
    ATTENDANCE = "attendance"
    HANDS = "hands"  # the waiting hands
    TURNS = "turns"  # who spoke, for how long, and who has the floor (with the hands: the queue order)
    DECISIONS = "decisions"
    ACTIONS = "actions"  # the meeting's actions and the case's still-open ones under review
    OUTCOME = "outcome"
    MAPPING = "mapping"
    SCALES = "scales"  # the questions and every score (the views hide them until the reveal)
    CHILD_VOICE = "child_voice"


ALL_PARTS = frozenset(Part)

WRITES: dict[ChangeKind, frozenset[Part]] = {
    ChangeKind.STARTED: frozenset({Part.ATTENDANCE}),  # the chair joins
    ChangeKind.ENDED: frozenset({Part.HANDS, Part.TURNS}),  # the turn ends, waiting hands are cleared
    ChangeKind.ATTENDANCE: frozenset({Part.ATTENDANCE, Part.HANDS, Part.TURNS}),  # leaving lowers one's hands
    ChangeKind.ITEM_OPENED: frozenset({Part.AGENDA}),
    ChangeKind.AGENDA: frozenset({Part.AGENDA}),
    ChangeKind.VISIBILITY: frozenset({Part.AGENDA, Part.ACTIONS}),
    ChangeKind.QUEUE: frozenset({Part.HANDS}),  # a hand raised for someone who was not there: also ATTENDANCE
    ChangeKind.FLOOR: frozenset({Part.HANDS, Part.TURNS}),
    ChangeKind.DECISION: frozenset({Part.DECISIONS}),
    ChangeKind.ACTION: frozenset({Part.ACTIONS}),
    ChangeKind.ACTION_UPDATED: frozenset({Part.ACTIONS}),
    ChangeKind.TEAM: ALL_PARTS,  # a room names people everywhere: a renamed member's hands, turns, actions…
    ChangeKind.RESCHEDULED: frozenset(),
    ChangeKind.CANCELLED: frozenset(),
    ChangeKind.SETTINGS: frozenset(),  # the meeting row, always read
    ChangeKind.NOTES: frozenset({Part.AGENDA}),  # notes live on their agenda item
    ChangeKind.MINUTE_TAKER: frozenset(),  # the meeting row, always read
    ChangeKind.OUTCOME: frozenset({Part.OUTCOME}),
    ChangeKind.MAPPING: frozenset({Part.MAPPING}),
    ChangeKind.SCALE: frozenset({Part.SCALES}),
    ChangeKind.CHILD_VOICE: frozenset({Part.CHILD_VOICE}),
}


def parts_for(kinds: frozenset[ChangeKind]) -> frozenset[Part]:
    """The parts that changes of these kinds wrote: what a room must re-read after them."""
    return frozenset().union(*(WRITES[k] for k in kinds))
