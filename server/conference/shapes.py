"""How the conference looks in the JSON API (API.md, "The conference"): the outcome with each
agency's view, the mapping board, the scales, the child's voice. The meeting's state carries
them; a family member's copy has the same shape with less in it."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.conference.models import ChildVoice, ConferenceOutcome, MappingEntry, OutcomeView, ScaleScore
from server.conference.rules import is_dissent, spread_by_agency
from server.conference.state import ConferenceView, ScaleView
from server.people.shapes import AgencyOut, UserBrief, agency_json, user_brief
from server.shapes import Timestamp, from_attributes, iso, iso_or_none


class OutcomeViewOut(msgspec.Struct):
    agency_id: UUID
    agency: AgencyOut
    view: str
    reason: str | None
    dissent: bool  # the view differs from the decision


class OutcomeOut(msgspec.Struct):
    plan: bool
    categories: list[str]
    reasons: str
    views: list[OutcomeViewOut]
    ends_plan: bool  # a review conference that decided no plan ends the plan
    recorded_at: Timestamp


class MappingEntryOut(msgspec.Struct):
    id: UUID
    column: str
    text: str
    author: UserBrief
    agenda_item_id: UUID | None
    created_at: Timestamp
    updated_at: Timestamp | None


class ScoreOut(msgspec.Struct):
    user: UserBrief
    agency: AgencyOut
    score: int
    reason: str | None


class AgencySpreadOut(msgspec.Struct):
    agency: AgencyOut
    scores: list[int]
    low: int
    high: int
    mean: float


class ScaleOut(msgspec.Struct):
    id: UUID
    question: str
    status: str
    agenda_item_id: UUID | None
    scored: int
    scores: list[ScoreOut]  # revealed: everyone's; open: only the caller's own
    by_agency: list[AgencySpreadOut]  # once revealed
    opened_at: Timestamp
    revealed_at: Timestamp | None


class ChildVoiceOut(msgspec.Struct):
    how_gathered: str
    gathered_by: UserBrief | None
    words: str
    child_attended: bool
    advocate_offered: bool
    updated_at: Timestamp


class CaseScale(ScaleOut):
    """A revealed scale of the case, with its meeting (GET /api/cases/{case_id}/scales)."""

    meeting_id: UUID
    meeting_title: str
    held_on: Timestamp | None


class CaseScales(msgspec.Struct):
    scales: list[CaseScale]


class NotesOut(msgspec.Struct):
    """The notes as saved; ``overwrote`` says another edit had been saved since the caller's copy
    (last writer wins, and the caller is warned)."""

    agenda_item_id: UUID
    text: str
    notes_version: int
    overwrote: bool


def outcome_view_out(view: OutcomeView, plan: bool) -> OutcomeViewOut:
    return from_attributes(
        OutcomeViewOut,
        view,
        agency=agency_json(view.agency),
        reason=view.reason or None,
        dissent=is_dissent(plan, view.view),
    )


def outcome_out(outcome: ConferenceOutcome, review: bool) -> OutcomeOut:
    return from_attributes(
        OutcomeOut,
        outcome,
        categories=list(outcome.categories),
        views=[outcome_view_out(v, outcome.plan) for v in outcome.views],
        ends_plan=review and not outcome.plan,
        recorded_at=iso(outcome.recorded_at),
    )


def mapping_out(entry: MappingEntry) -> MappingEntryOut:
    return from_attributes(
        MappingEntryOut,
        entry,
        author=user_brief(entry.author),
        created_at=iso(entry.created_at),
        updated_at=iso_or_none(entry.updated_at),
    )


def score_out(score: ScaleScore) -> ScoreOut:
    return ScoreOut(
        user=user_brief(score.user), agency=agency_json(score.agency), score=score.score, reason=score.reason or None
    )


def scale_out(view: ScaleView) -> ScaleOut:
    return ScaleOut(**scale_fields(view))  # type: ignore[arg-type]


def scale_fields(view: ScaleView) -> dict[str, object]:
    scale = view.scale
    agencies = {s.agency_id: s.agency for s in view.scores}
    return {
        "id": scale.id,
        "question": scale.question,
        "status": scale.status,
        "agenda_item_id": scale.agenda_item_id,
        "scored": view.scored,
        "scores": [score_out(s) for s in view.scores],
        "by_agency": [
            AgencySpreadOut(
                agency=agency_json(agencies[s.agency_id]), scores=list(s.scores), low=s.low, high=s.high, mean=s.mean
            )
            for s in (spread_by_agency(view.scores) if view.revealed else [])
            if s.agency_id is not None
        ],
        "opened_at": iso(scale.created_at),
        "revealed_at": iso_or_none(scale.revealed_at),
    }


def child_voice_out(voice: ChildVoice) -> ChildVoiceOut:
    return from_attributes(
        ChildVoiceOut,
        voice,
        gathered_by=None if voice.gathered_by is None else user_brief(voice.gathered_by),
        updated_at=iso(voice.updated_at),
    )


def conference_fields(view: ConferenceView, review: bool) -> dict[str, object]:
    """The state's conference fields (API.md): outcome, mapping, scales, child_voice."""
    return {
        "outcome": None if view.outcome is None else outcome_out(view.outcome, review),
        "mapping": [mapping_out(e) for e in view.mapping],
        "scales": [scale_out(s) for s in view.scales],
        "child_voice": None if view.child_voice is None else child_voice_out(view.child_voice),
    }
