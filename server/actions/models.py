"""Actions from the plan, their history, and the ledger that makes each reminder happen once."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.people.models import Agency, User
from server.platform.checks import one_of
from server.platform.db import Base, CreatedMixin, IdMixin, utcnow
from server.platform.labelled import Labelled


class ActionStatus(StrEnum):
    """Where an action stands: the open ones are chased and come back for review at the next
    meeting; a closed one says how it ended."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    NOT_ACHIEVED = "not_achieved"


OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.BLOCKED)
CLOSED_STATUSES = (ActionStatus.DONE, ActionStatus.CANCELLED, ActionStatus.NOT_ACHIEVED)


class Acceptance(Labelled):
    """Whether the owner has taken the action on: a declined one needs a new owner, so the plan
    says so rather than showing it as simply open."""

    PENDING = "pending", "Not yet accepted"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined — needs a new owner"


class OutcomeArea(Labelled):
    """The Every Child Matters outcome an action serves: the plan shows what each action is for
    and can be read one area at a time."""

    BEING_HEALTHY = "being_healthy", "Being healthy"
    STAYING_SAFE = "staying_safe", "Staying safe"
    ENJOYING_AND_ACHIEVING = "enjoying_and_achieving", "Enjoying and achieving"
    POSITIVE_CONTRIBUTION = "positive_contribution", "Making a positive contribution"
    ECONOMIC_WELLBEING = "economic_wellbeing", "Economic well-being"


class Action(IdMixin, CreatedMixin, Base):
    """What someone agreed to do for the child, by when: one owner answers for it, for their agency."""

    __tablename__ = "actions"
    __table_args__ = (
        one_of("status", ActionStatus),
        one_of("acceptance", Acceptance),
        one_of("outcome_area", OutcomeArea),
        # The chase scans open actions by due date: one indexed query per pass.
        Index(
            "ix_actions_open_due_date",
            "due_date",
            postgresql_where=text("status IN ('open', 'in_progress', 'blocked')"),
        ),
        Index("ix_actions_case_id_status", "case_id", "status"),
        Index(
            "ix_actions_escalation_events",
            "id",
            postgresql_where=text(
                "status NOT IN ('done', 'cancelled', 'not_achieved') AND (declined_count > 0 OR blocked_count > 0)"
            ),
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decisions.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    due_date: Mapped[date]
    outcome_area: Mapped[str] = mapped_column(String(32))
    professionals_only: Mapped[bool] = mapped_column(default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.OPEN.value)
    acceptance: Mapped[str] = mapped_column(String(16), default=Acceptance.PENDING.value)
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    snoozed_until: Mapped[date | None]
    snooze_reason: Mapped[str | None] = mapped_column(Text)
    declined_count: Mapped[int] = mapped_column(default=0, server_default="0")
    blocked_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    agency: Mapped[Agency] = relationship(lazy="joined")


class ActionEvent(IdMixin, CreatedMixin, Base):
    """One entry in an action's history: who changed what, when, and why."""

    __tablename__ = "action_events"
    __table_args__ = (Index("ix_action_events_action_id_created_at", "action_id", "created_at"),)

    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")

    actor: Mapped[User | None] = relationship(lazy="joined")


class ReminderLedger(CreatedMixin, Base):
    """One row per reminder that took effect; the primary key makes the chase exactly-once."""

    __tablename__ = "reminder_ledger"
    __table_args__ = (UniqueConstraint("action_id", "stage", "occurrence", name="uq_reminder_ledger_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[int]
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recipient_role: Mapped[str] = mapped_column(String(32))
