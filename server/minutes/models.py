"""The minutes of a meeting: the review (draft, then approved), attendees' corrections, the copies
frozen at approval, the outcome letter sent when the meeting ended, and the chase's ledger."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.platform.db import Base, CreatedMixin, IdMixin


class MinutesStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


class CorrectionState(StrEnum):
    OPEN = "open"
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"


class IssuedMinutes(IdMixin, CreatedMixin, Base):
    """The minutes as approved: a snapshot per audience, so later edits to actions do not
    rewrite history. (Before approval the draft is built afresh from the meeting's record.)"""

    __tablename__ = "issued_minutes"
    __table_args__ = (UniqueConstraint("meeting_id", "audience", name="uq_issued_minutes_meeting_audience"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)


class MinutesReview(Base):
    """Where a meeting's minutes are in their life: a draft open to corrections until
    ``draft_until``, then approved by the chair (which freezes the copies)."""

    __tablename__ = "minutes_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'approved')", name="status"),
        CheckConstraint("status = 'draft' OR approved_at IS NOT NULL", name="approved_has_time"),
        Index("ix_minutes_reviews_drafts", "draft_until", postgresql_where="status = 'draft'"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=MinutesStatus.DRAFT)
    draft_until: Mapped[date]
    drafted_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MinutesCorrection(IdMixin, CreatedMixin, Base):
    """An attendee's correction of the draft, on one agenda item or on the whole; the chair
    marks it applied or not, with a reply."""

    __tablename__ = "minutes_corrections"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'applied', 'not_applied')", name="state"),
        Index("ix_minutes_corrections_meeting", "meeting_id", "created_at"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=CorrectionState.OPEN, server_default="open")
    reply: Mapped[str] = mapped_column(Text, default="", server_default="")
    resolved_at: Mapped[datetime | None]


class OutcomeLetter(IdMixin, CreatedMixin, Base):
    """The outcome letter as sent when the meeting ended: one snapshot per audience."""

    __tablename__ = "outcome_letters"
    __table_args__ = (UniqueConstraint("meeting_id", "audience", name="uq_outcome_letters_meeting_audience"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
