"""Reports before a meeting and the family's answers to them.

One report per meeting and agency (the family's view is the report of the family agency), so an
agency's second author replaces the first one's text rather than adding a rival report. The
optional PDF lives in the row, deferred, so that listing reports never loads the file."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from server.people.models import Agency, User
from server.platform.db import Base, IdMixin, utcnow


class Report(IdMixin, Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("meeting_id", "agency_id"),
        CheckConstraint("share_with_family OR withheld_reason IS NOT NULL", name="withheld_has_reason"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    share_with_family: Mapped[bool] = mapped_column(default=True, server_default="true")
    withheld_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    pdf_name: Mapped[str | None] = mapped_column(String(200))
    pdf_size: Mapped[int | None]
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    agency: Mapped[Agency] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")
    responses: Mapped[list[ReportResponse]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ReportResponse.created_at"
    )


class ReportResponse(IdMixin, Base):
    """A family member's answer to a report shared with them: agree, or what is wrong."""

    __tablename__ = "report_responses"
    __table_args__ = (Index("ix_report_responses_report_id_created_at", "report_id", "created_at"),)

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agrees: Mapped[bool]
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")
