"""The outcome of an initial or review child protection conference.

One row a meeting: whether the child needs a child protection plan (or, at a review, whether the
plan goes on), under which categories, why, and each agency's view of it. The statutory
timescales read ``plan`` from here: a plan starts the core group and the reviews, no plan (or a
review that ends the plan) ends them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.people.models import Agency
from server.platform.db import Base, utcnow


class Category(StrEnum):
    NEGLECT = "neglect"
    PHYSICAL_ABUSE = "physical_abuse"
    EMOTIONAL_ABUSE = "emotional_abuse"
    SEXUAL_ABUSE = "sexual_abuse"


class View(StrEnum):
    PLAN = "plan"
    NO_PLAN = "no_plan"


class ConferenceOutcome(Base):
    __tablename__ = "conference_outcomes"
    __table_args__ = (CheckConstraint("NOT plan OR cardinality(categories) > 0", name="plan_has_category"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    plan: Mapped[bool]
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    reasons: Mapped[str] = mapped_column(Text, default="", server_default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    views: Mapped[list[OutcomeView]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="OutcomeView.agency_id"
    )


class OutcomeView(Base):
    """One agency's view of the outcome; a view that differs from the decision is dissent and
    carries its reason."""

    __tablename__ = "conference_outcome_views"
    __table_args__ = (CheckConstraint("view IN ('plan', 'no_plan')", name="view"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conference_outcomes.meeting_id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    view: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    agency: Mapped[Agency] = relationship(lazy="joined")
