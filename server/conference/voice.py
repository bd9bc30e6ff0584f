"""The child's voice: their own words, how and by whom they were gathered, whether the child
attended and whether an advocate was offered. Written by the case's professionals before or in
the meeting, prompted by its own agenda item, and part of every copy, the family's included."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from server.cases.models import CaseRole
from server.cases.service import role_of
from server.conference.models import ChildVoice
from server.conference.shapes import ChildVoiceOut, child_voice_out
from server.errors import Forbidden, Invalid
from server.meetings.changes import ChangeKind
from server.meetings.commands import BEFORE_END, Ctx, Who, command
from server.people.models import User
from server.platform.db import utcnow

WORDS_MAX = 5000  # under the form reader's 10,000, so a form can be told it is too long
HOW_MAX = 2000
PROFESSIONAL_ROLES = (CaseRole.PROFESSIONAL, CaseRole.CHAIR)


class ChildVoiceBody(msgspec.Struct):
    how_gathered: Annotated[str, msgspec.Meta(max_length=HOW_MAX)]
    words: Annotated[str, msgspec.Meta(max_length=WORDS_MAX)]
    gathered_by_id: uuid.UUID | None = None
    child_attended: bool = False
    advocate_offered: bool = False


@command(
    "PUT", "/child-voice", who=Who.MEMBER, when=BEFORE_END, change=ChangeKind.CHILD_VOICE, audit="child_voice.write",
    done="The child's voice is recorded.", refusal="Only the case's professionals record the child's voice.",
    messages={
        "how_gathered": f"Say how the child's views were gathered, in up to {HOW_MAX:,} characters.",
        "words": f"Write the child's words, in up to {WORDS_MAX:,} characters.",
        "gathered_by_id": "Choose who gathered them from the team.",
    },
)  # fmt: skip
async def record_child_voice(ctx: Ctx, body: ChildVoiceBody) -> ChildVoiceOut:
    """Record the child's voice for this meeting (the case's professionals); again to change it."""
    if ctx.role not in PROFESSIONAL_ROLES:
        raise Forbidden("Only the case's professionals record the child's voice.", code="not_professional")
    words, how = body.words.strip(), body.how_gathered.strip()
    if not words:
        raise Invalid("Write the child's words, or what they showed.", field="words", code="words_missing")
    if not how:
        raise Invalid("Say how the child's views were gathered.", field="how_gathered", code="how_missing")
    gatherer = None
    if body.gathered_by_id is not None:
        if await role_of(ctx.session, ctx.meeting.case_id, body.gathered_by_id) not in PROFESSIONAL_ROLES:
            raise Invalid(
                "Choose who gathered them from the case's professionals.", field="gathered_by_id", code="not_on_team"
            )
        gatherer = await ctx.session.get(User, body.gathered_by_id)
    voice = await ctx.session.get(ChildVoice, ctx.meeting.id)
    if voice is None:
        voice = ChildVoice(meeting_id=ctx.meeting.id)
        ctx.session.add(voice)
    voice.how_gathered, voice.words = how, words
    voice.gathered_by_id, voice.gathered_by = body.gathered_by_id, gatherer
    voice.child_attended, voice.advocate_offered = body.child_attended, body.advocate_offered
    voice.recorded_by_id, voice.updated_at = ctx.user.id, utcnow()
    await ctx.session.flush()
    ctx.about("meeting", ctx.meeting.id, child_attended=body.child_attended, advocate_offered=body.advocate_offered)
    return child_voice_out(voice)
