"""The conference's part of a room: read with the room (only the parts a change wrote), and
viewed per audience and per person.

The family's view leaves out every mapping entry and scale under a professionals-only item, as
the room's own view does for decisions; before the reveal a scale shows its scores to nobody but
their authors, and a copy shared by a whole audience (the socket's) shows nobody's."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.conference.models import ChildVoice, ConferenceOutcome, MappingEntry, Scale, ScaleScore
from server.conference.rules import visible_scores
from server.meetings.changes import Part

Row = TypeVar("Row", MappingEntry, Scale)


@dataclass(frozen=True, slots=True)
class ConferenceRoom:
    outcome: ConferenceOutcome | None
    mapping: Sequence[MappingEntry]
    scales: Sequence[Scale]
    child_voice: ChildVoice | None


EMPTY = ConferenceRoom(None, (), (), None)


async def read_conference(
    session: AsyncSession, meeting_id: uuid.UUID, parts: Collection[Part], previous: ConferenceRoom | None
) -> ConferenceRoom:
    kept = previous or EMPTY
    outcome = (
        await session.get(ConferenceOutcome, meeting_id, populate_existing=True)
        if Part.OUTCOME in parts
        else kept.outcome
    )
    mapping = await _of_meeting(session, MappingEntry, meeting_id) if Part.MAPPING in parts else kept.mapping
    scales = await _of_meeting(session, Scale, meeting_id) if Part.SCALES in parts else kept.scales
    voice = (
        await session.get(ChildVoice, meeting_id, populate_existing=True)
        if Part.CHILD_VOICE in parts
        else kept.child_voice
    )
    return ConferenceRoom(outcome, mapping, scales, voice)


async def _of_meeting(session: AsyncSession, model: type[Row], meeting_id: uuid.UUID) -> list[Row]:
    """A meeting's rows of ``model`` in the order they were made, fresh from the database."""
    found = await session.scalars(
        select(model)
        .where(model.meeting_id == meeting_id)
        .order_by(model.created_at, model.id)
        .execution_options(populate_existing=True)
    )
    return list(found.unique())


@dataclass(frozen=True, slots=True)
class ScaleView:
    scale: Scale
    scored: int  # how many have scored
    scores: Sequence[ScaleScore]  # all once revealed; before, only the viewer's own

    @property
    def revealed(self) -> bool:
        return self.scale.status == "revealed"


@dataclass(frozen=True, slots=True)
class ConferenceView:
    outcome: ConferenceOutcome | None
    mapping: Sequence[MappingEntry]
    scales: Sequence[ScaleView]
    child_voice: ChildVoice | None

    def entries_in(self, column: str) -> list[MappingEntry]:
        return [e for e in self.mapping if e.column == column]

    @property
    def open_scale(self) -> ScaleView | None:
        return next((s for s in self.scales if not s.revealed), None)


def view_conference(
    room: ConferenceRoom, hidden_items: Collection[uuid.UUID], viewer: uuid.UUID | None
) -> ConferenceView:
    """What one audience (or, with ``viewer``, one person) sees of the conference."""
    return ConferenceView(
        outcome=room.outcome,
        mapping=[e for e in room.mapping if e.agenda_item_id not in hidden_items],
        scales=[
            ScaleView(s, len(s.scores), visible_scores(s.status == "revealed", s.scores, viewer))
            for s in room.scales
            if s.agenda_item_id not in hidden_items
        ],
        child_voice=room.child_voice,
    )
