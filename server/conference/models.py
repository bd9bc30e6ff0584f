"""The outcome of an initial or review child protection conference.

One row a meeting: whether the child needs a child protection plan (or, at a review, whether the
plan goes on), under which categories, why, and each agency's view of it. The statutory
timescales read ``plan`` from here: a plan starts the core group and the reviews, no plan (or a
review that ends the plan) ends them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.people.models import Agency, User
from server.platform.db import Base, CreatedMixin, IdMixin, utcnow
from server.platform.labelled import Labelled


class Category(Labelled):
    """The statutory categories of abuse or neglect: a plan is made under at least one."""

    NEGLECT = "neglect", "Neglect"
    PHYSICAL_ABUSE = "physical_abuse", "Physical abuse"
    EMOTIONAL_ABUSE = "emotional_abuse", "Emotional abuse"
    SEXUAL_ABUSE = "sexual_abuse", "Sexual abuse"


class View(Labelled):
    """Plan or no plan: what the conference decided, and each agency's view of it (a view that
    differs is dissent)."""

    PLAN = "plan", "A child protection plan"
    NO_PLAN = "no_plan", "No child protection plan"


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


class Column(Labelled):
    """The six columns of a Signs of Safety mapping board, labelled with the question each asks,
    in the board's order (the minutes list the entries column by column in it)."""

    WORRY = "worry", "What are we worried about?"
    WORKING_WELL = "working_well", "What's working well?"
    NEXT_STEPS = "next_steps", "What needs to happen?"
    DANGER_STATEMENT = "danger_statement", "Danger statements"
    SAFETY_GOAL = "safety_goal", "Safety goals"
    COMPLICATING = "complicating", "Complicating factors"


class MappingEntry(IdMixin, CreatedMixin, Base):
    """One entry on the mapping board, written by any attendee (the family too), under the agenda
    item that was open when it was written: the family sees it only if they see that item."""

    __tablename__ = "mapping_entries"
    __table_args__ = (CheckConstraint("length(text) > 0", name="text"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    column: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(lazy="joined")


class Scale(IdMixin, CreatedMixin, Base):
    """A 0-10 scaling question. Scores stay hidden from everyone but their author until the chair
    reveals them all at once, so nobody anchors on the first number said aloud."""

    __tablename__ = "scales"
    __table_args__ = (CheckConstraint("status IN ('open', 'revealed')", name="status"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")
    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    revealed_at: Mapped[datetime | None]

    scores: Mapped[list[ScaleScore]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ScaleScore.scored_at"
    )


class ScaleScore(Base):
    __tablename__ = "scale_scores"
    __table_args__ = (CheckConstraint("score BETWEEN 0 AND 10", name="score"),)

    scale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scales.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    score: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    agency: Mapped[Agency] = relationship(lazy="joined")


class ChildVoice(Base):
    """The child's own words for one meeting: how and by whom they were gathered, whether the
    child attended and whether an advocate was offered. Part of every copy, the family's too."""

    __tablename__ = "child_voices"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    how_gathered: Mapped[str] = mapped_column(Text, default="", server_default="")
    gathered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    words: Mapped[str] = mapped_column(Text, default="", server_default="")
    child_attended: Mapped[bool] = mapped_column(default=False, server_default="false")
    advocate_offered: Mapped[bool] = mapped_column(default=False, server_default="false")
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    gathered_by: Mapped[User | None] = relationship(foreign_keys=[gathered_by_id], lazy="joined")
