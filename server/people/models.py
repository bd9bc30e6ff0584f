"""Agencies, users, their sign-in sessions, API tokens and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.platform.db import Base, CreatedMixin, IdMixin


class Sector(StrEnum):
    HEALTH = "health"
    EDUCATION = "education"
    SOCIAL_CARE = "social_care"
    POLICE = "police"
    EARLY_HELP = "early_help"
    VOLUNTARY = "voluntary"
    HOUSING = "housing"
    FAMILY = "family"
    OTHER = "other"


def _values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


class Agency(IdMixin, CreatedMixin, Base):
    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(f"sector IN ({_values(Sector)})", name="sector"),)

    name: Mapped[str] = mapped_column(String(200), unique=True)
    sector: Mapped[str] = mapped_column(String(32))


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    is_admin: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Reads the partnership insights (numbers across every case, never a child's name).
    can_see_insights: Mapped[bool] = mapped_column(default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    password_changed_at: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship(lazy="joined")


class UserSession(IdMixin, CreatedMixin, Base):
    """A browser sign-in. Only a hash of the cookie value is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_user_sessions_user_id_open", "user_id", postgresql_where="ended_at IS NULL"),)


class ApiToken(IdMixin, CreatedMixin, Base):
    """A personal bearer token for integrations. Only a hash is stored; shown once."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Invitation(IdMixin, CreatedMixin, Base):
    """A single-use link that lets an invited person (often a parent) set a password."""

    __tablename__ = "invitations"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
