"""The regions of the room page, and which regions each kind of change touches.

A change re-renders only the regions named here for its kind (tests/test_room_events.py runs
every declared operation and fails if a region whose HTML changed for any audience is missing)."""

from __future__ import annotations

from enum import StrEnum

from server.meetings.changes import ChangeKind


class Region(StrEnum):
    STATUS = "status"
    AGENDA = "agenda"
    FLOOR = "floor"
    QUEUE = "queue"
    UNHEARD = "unheard"  # the agencies present not yet heard on the open item
    PEOPLE = "people"
    BALANCE = "balance"
    DECISIONS = "decisions"
    ACTIONS = "actions"
    CHILD_VOICE = "child_voice"  # the conference's panels: templates under conference/
    NOTES = "notes"
    MAPPING = "mapping"
    SCALES = "scales"
    OUTCOME = "outcome"


ALL_REGIONS = frozenset(Region)
REGION_ORDER = tuple(Region)

R = Region
REGIONS: dict[ChangeKind, frozenset[Region]] = {
    ChangeKind.STARTED: ALL_REGIONS,
    ChangeKind.ENDED: ALL_REGIONS,
    ChangeKind.ATTENDANCE: frozenset({R.PEOPLE, R.UNHEARD, R.QUEUE, R.BALANCE, R.DECISIONS}),
    ChangeKind.ITEM_OPENED: ALL_REGIONS,
    ChangeKind.AGENDA: frozenset({R.AGENDA}),
    ChangeKind.VISIBILITY: ALL_REGIONS,
    ChangeKind.QUEUE: frozenset({R.QUEUE}),
    ChangeKind.FLOOR: frozenset({R.FLOOR, R.QUEUE, R.UNHEARD, R.BALANCE}),
    ChangeKind.DECISION: frozenset({R.DECISIONS, R.ACTIONS}),
    ChangeKind.ACTION: frozenset({R.ACTIONS}),
    ChangeKind.ACTION_UPDATED: frozenset({R.ACTIONS, R.AGENDA}),  # the agenda shows the review of open actions
    ChangeKind.TEAM: ALL_REGIONS,
    ChangeKind.RESCHEDULED: ALL_REGIONS,
    ChangeKind.CANCELLED: ALL_REGIONS,
    ChangeKind.SETTINGS: frozenset({R.PEOPLE, R.UNHEARD, R.BALANCE, R.DECISIONS}),  # who counts as a voice
    ChangeKind.NOTES: frozenset({R.NOTES}),
    ChangeKind.MINUTE_TAKER: frozenset({R.NOTES}),
    ChangeKind.OUTCOME: frozenset({R.OUTCOME}),
    ChangeKind.MAPPING: frozenset({R.MAPPING}),
    ChangeKind.SCALE: frozenset({R.SCALES}),
    ChangeKind.CHILD_VOICE: frozenset({R.CHILD_VOICE}),
}

CONFERENCE_REGIONS = frozenset({R.CHILD_VOICE, R.NOTES, R.MAPPING, R.SCALES, R.OUTCOME})


def template_of(region: Region) -> str:
    """The template that renders ``region``: the conference's panels live apart from the room's."""
    folder = "conference" if region in CONFERENCE_REGIONS else "live/regions"
    return f"{folder}/{region.value}.html"


CHAIR_ALIKE = frozenset({R.UNHEARD, R.BALANCE, R.CHILD_VOICE, R.MAPPING})
"""Regions with no chair's controls: the chair is sent the very bytes every professional is, so
they are rendered once for both (tests/test_room_events.py checks it in every scene)."""

PRESENCE_REGIONS = frozenset({R.PEOPLE, R.QUEUE})  # who is connected; whom the chair may raise a hand for


def regions_for(kinds: frozenset[ChangeKind]) -> frozenset[Region]:
    return frozenset().union(*(REGIONS[k] for k in kinds))
