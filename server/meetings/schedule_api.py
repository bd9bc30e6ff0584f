"""JSON API for moving and cancelling a scheduled meeting; both send calendar updates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, patch, post

from server.meetings import invitations
from server.meetings.models import Meeting
from server.meetings.schedule_rules import MAX_DURATION
from server.meetings.service import reload
from server.meetings.shapes import MeetingSummary, meeting_summary
from server.web.caller import Caller


class MeetingChange(msgspec.Struct):
    """Only the fields given change; an empty location clears it."""

    scheduled_at: datetime | None = None
    duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_DURATION)] | None = None
    location: Annotated[str, msgspec.Meta(max_length=200)] | None = None


async def move_meeting(caller: Caller, meeting_id: UUID, change: MeetingChange) -> Meeting:
    """Move a meeting, from the API or the meeting page's form: one call to the service."""
    return await invitations.reschedule(
        caller,
        meeting_id,
        scheduled_at=change.scheduled_at,
        duration_minutes=change.duration_minutes,
        location=change.location,
    )


@patch("/api/meetings/{meeting_id:uuid}", tags=["Scheduling"])
async def reschedule_meeting(meeting_id: UUID, data: MeetingChange, caller: Caller) -> MeetingSummary:
    """Move a meeting that has not started (its chair, the case's chair or an administrator).
    Everyone on the team is sent the updated calendar entry (same UID, higher SEQUENCE).

    A plain handler, not a Controller method: Litestar 2 gives every Controller path its own
    OPTIONS handler, so a second Controller on MeetingsApi's path fails at start-up. Register it
    after MeetingsApi, which it then joins on the same route."""
    await move_meeting(caller, meeting_id, data)
    return meeting_summary(await reload(caller.db, meeting_id))


class ScheduleApi(Controller):
    path = "/api/meetings/{meeting_id:uuid}/cancel"
    tags = ["Scheduling"]

    @post("/", status_code=200)
    async def cancel(self, meeting_id: UUID, caller: Caller) -> MeetingSummary:
        """Cancel a meeting that has not started; everyone on the team is sent a calendar CANCEL."""
        await invitations.cancel(caller, meeting_id)
        return meeting_summary(await reload(caller.db, meeting_id))
