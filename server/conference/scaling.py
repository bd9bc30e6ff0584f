"""Signs of Safety scaling: the chair asks a 0-10 question, each attendee scores without seeing
anyone else's score (the room shows only how many have scored), and the chair reveals them all
at once, so nobody anchors on the first number said aloud. One question is open at a time."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlalchemy import select

from server.conference.models import Scale, ScaleScore
from server.conference.rules import HIGHEST, LOWEST
from server.conference.shapes import ScaleOut, scale_out
from server.conference.state import ScaleView
from server.errors import Conflict, Invalid
from server.meetings.changes import ChangeKind
from server.meetings.commands import LIVE, Ctx, NoBody, Who, command
from server.meetings.targets import visible_target_row
from server.platform.db import utcnow

QUESTION_MAX = 500
REASON_MAX = 2000


class NewScale(msgspec.Struct):
    question: Annotated[str, msgspec.Meta(max_length=QUESTION_MAX)]


class MyScore(msgspec.Struct):
    score: int
    reason: Annotated[str, msgspec.Meta(max_length=REASON_MAX)] | None = None


async def _scale(ctx: Ctx) -> Scale:
    return await visible_target_row(ctx, Scale, missing="No such scaling question in this meeting.")


def _own(ctx: Ctx, scale: Scale) -> ScaleOut:
    mine = [s for s in scale.scores if s.user_id == ctx.user.id] if scale.status == "open" else list(scale.scores)
    return scale_out(ScaleView(scale, len(scale.scores), mine))


@command(
    "POST", "/scales", who=Who.CHAIR, when=LIVE, change=ChangeKind.SCALE, audit="scale.open",
    done="Scaling question asked.", status_code=201,
    messages={"question": f"Write the question, in up to {QUESTION_MAX} characters."},
)  # fmt: skip
async def open_scale(ctx: Ctx, body: NewScale) -> ScaleOut:
    """Ask a 0-10 scaling question under the open agenda item (the chair); one at a time."""
    question = body.question.strip()
    if not question:
        raise Invalid("Write the scaling question.", field="question", code="question_missing")
    already = await ctx.session.scalar(
        select(Scale.id).where(Scale.meeting_id == ctx.meeting.id, Scale.status == "open")
    )
    if already is not None:
        raise Conflict("Reveal the open scaling question before asking another.", code="scale_open")
    scale = Scale(meeting_id=ctx.meeting.id, question=question, agenda_item_id=ctx.meeting.open_item_id)
    scale.scores = []
    ctx.session.add(scale)
    await ctx.session.flush()
    ctx.about("scale", scale.id)
    return _own(ctx, scale)


@command(
    "PUT", "/scales/{scale_id:uuid}/mine", who=Who.ATTENDEE, when=LIVE, change=ChangeKind.SCALE, audit="scale.score",
    done="Your score is in; nobody sees it until the chair reveals them all.",
    messages={"score": "Choose a score from 0 to 10.", "reason": f"Keep the reason to {REASON_MAX:,} characters."},
)  # fmt: skip
async def score_scale(ctx: Ctx, body: MyScore) -> ScaleOut:
    """Give one's score, 0 to 10, with a reason if one likes; changeable until the reveal
    (attendees). Nobody else sees it until then."""
    if not LOWEST <= body.score <= HIGHEST:
        raise Invalid("A score is a whole number from 0 to 10.", field="score", code="score_out_of_range")
    scale = await _scale(ctx)
    if scale.status != "open":
        raise Conflict("The scores have been revealed; they can no longer change.", code="scale_revealed")
    mine = next((s for s in scale.scores if s.user_id == ctx.user.id), None)
    if mine is None:
        mine = ScaleScore(scale_id=scale.id, user_id=ctx.user.id, agency_id=ctx.user.agency_id, score=body.score)
        scale.scores.append(mine)
    mine.score, mine.reason, mine.scored_at = body.score, (body.reason or "").strip(), utcnow()
    await ctx.session.flush()
    await ctx.session.refresh(scale, ["scores"])
    ctx.about("scale", scale.id, verb=None)  # the score itself stays out of the trail until the reveal
    return _own(ctx, scale)


@command(
    "POST", "/scales/{scale_id:uuid}/reveal", who=Who.CHAIR, when=LIVE, change=ChangeKind.SCALE,
    audit="scale.reveal", done="Scores revealed.",
)  # fmt: skip
async def reveal_scale(ctx: Ctx, _: NoBody) -> ScaleOut:
    """Close a scaling question and show everyone every score at once (the chair)."""
    scale = await _scale(ctx)
    if scale.status != "open":
        raise Conflict("These scores are already revealed.", code="scale_revealed")
    if not scale.scores:
        raise Conflict("Nobody has scored yet.", code="no_scores")
    scale.status, scale.revealed_at = "revealed", utcnow()
    ctx.about("scale", scale.id, scored=len(scale.scores))
    return _own(ctx, scale)
