"""What the insights keep of each ended meeting: per agency, whether it was invited (every row
is) and attended, how long it spoke, on how many opened items it was present but not heard,
and whether its report was expected and in by the due date.

An ended meeting does not change (nobody joins, speaks or opens an item after the end), so
these rows are counted once, the first time a reading of the insights covers the meeting, and
every later reading adds rows up instead of going back over every turn, attendance and agenda
item (bench/README.md, "Partnership insights"). ``case_id`` and ``ended_at`` are copied so that a
period or a case is found from these tables alone."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from server.platform.db import Base, utcnow


class InsightMeeting(Base):
    """One row per ended meeting already counted."""

    __tablename__ = "insight_meetings"
    __table_args__ = (
        Index("ix_insight_meetings_ended_at", "ended_at"),
        Index("ix_insight_meetings_case_id_ended_at", "case_id", "ended_at"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    ended_at: Mapped[datetime]
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsightMeetingAgency(Base):
    """One row per agency invited to a counted meeting (on the team when it ended, or there)."""

    __tablename__ = "insight_meeting_agencies"

    meeting_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("insight_meetings.meeting_id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    attended: Mapped[bool]
    speaking_seconds: Mapped[float]
    items_present_not_heard: Mapped[int]
    # reports are written until the meeting starts, so they are settled too by its end
    report_expected: Mapped[bool]
    report_on_time: Mapped[bool]
