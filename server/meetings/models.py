"""Meetings, their agenda, attendance, hands and turns, and decisions with agency positions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from server.people.models import Agency, User
from server.platform.checks import one_of
from server.platform.db import Base, CreatedMixin, IdMixin, utcnow
from server.platform.labelled import Labelled


class MeetingKind(Labelled):
    """The kinds of meeting a case holds: the kind decides which statutory timescale a meeting
    meets and whether the conference's outcome and the child's voice belong on its agenda."""

    TAC = "tac", "Team Around the Child meeting"
    INITIAL_CONFERENCE = "initial_conference", "Initial child protection conference"
    REVIEW_CONFERENCE = "review_conference", "Review child protection conference"
    CORE_GROUP = "core_group", "Core group meeting"
    STRATEGY = "strategy", "Strategy discussion"
    OTHER = "other", "Other meeting"


class MeetingStatus(StrEnum):
    """Where a meeting is in its life; the minutes and the outcome letter follow its end."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Outcome(Labelled):
    """What became of a decision, in the minutes' and the room's words (the audit trail's too)."""

    AGREED = "agreed", "Agreed"
    NOT_AGREED = "not_agreed", "Not agreed"
    DEFERRED = "deferred", "Deferred"


class Position(Labelled):
    """An agency's position on a decision: a disagreement must give its reason (a CHECK), so that
    dissent is on the record."""

    AGREE = "agree", "Agrees"
    DISAGREE = "disagree", "Disagrees"
    ABSTAIN = "abstain", "Abstains"


class Meeting(IdMixin, CreatedMixin, Base):
    """A meeting of the case's team, from scheduling through the live room to its end. ``version``
    rises with every change to the room, so that a change asked of an older version is refused."""

    __tablename__ = "meetings"
    __table_args__ = (
        one_of("kind", MeetingKind),
        one_of("status", MeetingStatus),
        CheckConstraint("turn_limit_seconds IS NULL OR turn_limit_seconds > 0", name="turn_limit"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    scheduled_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(default=90, server_default="90")
    location: Mapped[str | None] = mapped_column(String(200))
    chair_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.SCHEDULED.value)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    turn_limit_seconds: Mapped[int | None]
    # An independent chair is not a voice of the meeting: left out of "not yet heard", the
    # positions of a decision and the balance of voices, unless they also speak for their agency.
    chair_speaks_for_agency: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    open_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agenda_items.id", use_alter=True, ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    minute_taker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    chair: Mapped[User] = relationship(foreign_keys=[chair_id], lazy="joined")
    minute_taker: Mapped[User | None] = relationship(foreign_keys=[minute_taker_id], lazy="joined")


class AgendaItem(IdMixin, CreatedMixin, Base):
    __tablename__ = "agenda_items"
    __table_args__ = (Index("ix_agenda_items_meeting_id_position", "meeting_id", "position"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    professionals_only: Mapped[bool] = mapped_column(default=False, server_default="false")
    minutes: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_action_review: Mapped[bool] = mapped_column(default=False, server_default="false")
    is_child_voice: Mapped[bool] = mapped_column(default=False, server_default="false")
    opened_at: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")  # written live: the draft minutes
    notes_version: Mapped[int] = mapped_column(default=0, server_default="0")


class Attendance(Base):
    """Who joined the meeting; left_at is set when they leave (and cleared if they rejoin)."""

    __tablename__ = "attendance"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class VoiceMixin:
    """Who, for which agency, in which meeting: what a raised hand and a turn at speaking share."""

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))

    @declared_attr
    @classmethod
    def user(cls) -> Mapped[User]:
        # A hand has other links to users (who raised or moved it): this one is the speaker.
        return relationship(foreign_keys=[cls.user_id], lazy="joined")


WAITING_HAND_INDEX = "uq_hands_waiting_per_kind"  # at most one waiting hand of each kind per person


class Hand(IdMixin, VoiceMixin, Base):
    """A raised hand. At most one waiting hand of each kind per person (a partial unique index)."""

    __tablename__ = "hands"
    __table_args__ = (
        CheckConstraint("kind IN ('point_of_order', 'reply', 'contribution')", name="kind"),
        CheckConstraint("state IN ('waiting', 'taken', 'lowered', 'cleared')", name="state"),
        Index(
            WAITING_HAND_INDEX,
            "meeting_id",
            "user_id",
            "kind",
            unique=True,
            postgresql_where=text("state = 'waiting'"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    raised_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    by_round: Mapped[bool] = mapped_column(default=False, server_default=sa_false())  # queued by a go-round
    reply_to_turn_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("turns.id", use_alter=True))
    pinned_position: Mapped[int | None]
    moved_at: Mapped[datetime | None]
    moved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


class Turn(IdMixin, VoiceMixin, Base):
    """A turn at speaking. A partial unique index keeps one open turn per meeting."""

    __tablename__ = "turns"
    __table_args__ = (
        Index(
            "uq_turns_one_open_per_meeting",
            "meeting_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    hand_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hands.id"))
    kind: Mapped[str] = mapped_column(String(16), default="contribution")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    limit_seconds: Mapped[int | None]


class Decision(IdMixin, CreatedMixin, Base):
    __tablename__ = "decisions"
    __table_args__ = (one_of("outcome", Outcome),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agenda_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))

    positions: Mapped[list[DecisionPosition]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="DecisionPosition.agency_id"
    )


class DecisionPosition(Base):
    __tablename__ = "decision_positions"
    __table_args__ = (
        one_of("position", Position),
        CheckConstraint("position <> 'disagree' OR length(reason) > 0", name="disagree_reason"),
    )

    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    position: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    agency: Mapped[Agency] = relationship(lazy="joined")
