"""Cases (one child or family) and their team."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.people.models import User
from server.platform.db import Base, CreatedMixin, IdMixin, utcnow


class CaseRole(StrEnum):
    PROFESSIONAL = "professional"
    FAMILY = "family"
    CHAIR = "chair"


class Case(IdMixin, CreatedMixin, Base):
    __tablename__ = "cases"

    reference: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    lead_professional_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]

    lead_professional: Mapped[User] = relationship(foreign_keys=[lead_professional_id], lazy="joined")


class CaseMember(Base):
    __tablename__ = "case_members"
    __table_args__ = (CheckConstraint("role IN ('professional', 'family', 'chair')", name="role"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
