"""The meeting's own settings that the chair changes in the room."""

from __future__ import annotations

import msgspec

from server.meetings.changes import ChangeKind
from server.meetings.commands import BEFORE_END, Ctx, Who, command


class ChairVoice(msgspec.Struct):
    speaks_for_agency: bool


@command(
    "PUT", "/chair-voice", form_path="/chair-voice", who=Who.CHAIR, when=BEFORE_END, change=ChangeKind.SETTINGS,
    audit="meeting.chair_voice", done="Who counts as a voice is set.",
)  # fmt: skip
async def set_chair_voice(ctx: Ctx, body: ChairVoice) -> None:
    """Say whether the chair also speaks for their agency (the chair). An independent chair is
    left out of "not yet heard", the agencies' positions and the balance of voices; a chair who
    speaks for their agency is counted like anyone else."""
    ctx.meeting.chair_speaks_for_agency = body.speaks_for_agency
    ctx.about("meeting", ctx.meeting.id, speaks_for_agency=body.speaks_for_agency)
