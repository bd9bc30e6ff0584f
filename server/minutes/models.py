"""Minutes issued when a meeting ends: a frozen record per audience."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.platform.db import Base, CreatedMixin, IdMixin


class IssuedMinutes(IdMixin, CreatedMixin, Base):
    """The minutes as issued: a snapshot, so later edits to actions do not rewrite history."""

    __tablename__ = "issued_minutes"
    __table_args__ = (UniqueConstraint("meeting_id", "audience", name="uq_issued_minutes_meeting_audience"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
