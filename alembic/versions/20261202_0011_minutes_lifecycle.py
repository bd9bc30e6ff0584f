"""The minutes' lifecycle: a draft open to corrections, approval by the chair, the outcome letter
sent at the end of the meeting (the chase of unapproved minutes uses the chase ledger of 0009).

Minutes issued before this revision were final the moment they were issued: each such meeting
gets a review that is already approved (at the time its minutes were issued, by nobody named),
with ``draft_until`` five weekdays after the meeting, so that they keep working unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "minutes_reviews",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("draft_until", sa.Date(), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'approved')", name=op.f("ck_minutes_reviews_status")),
        sa.CheckConstraint(
            "status = 'draft' OR approved_at IS NOT NULL", name=op.f("ck_minutes_reviews_approved_has_time")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_minutes_reviews_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_minutes_reviews_approved_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_minutes_reviews")),
    )
    op.create_index(
        "ix_minutes_reviews_drafts", "minutes_reviews", ["draft_until"], postgresql_where=sa.text("status = 'draft'")
    )
    op.create_table(
        "minutes_corrections",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("agenda_item_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("reply", sa.Text(), server_default="", nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("state IN ('open', 'applied', 'not_applied')", name=op.f("ck_minutes_corrections_state")),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_minutes_corrections_agenda_item_id_agenda_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_minutes_corrections_author_id_users")),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_minutes_corrections_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_corrections")),
    )
    op.create_index("ix_minutes_corrections_meeting", "minutes_corrections", ["meeting_id", "created_at"])
    op.create_table(
        "outcome_letters",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_outcome_letters_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_letters")),
        sa.UniqueConstraint("meeting_id", "audience", name="uq_outcome_letters_meeting_audience"),
    )
    # Minutes issued before the lifecycle were final when issued: they stay so, as approved.
    op.execute(
        """
        INSERT INTO minutes_reviews (meeting_id, status, draft_until, drafted_at, approved_at, approved_by_id)
        SELECT m.id, 'approved',
               (SELECT d::date FROM generate_series(
                    (COALESCE(m.ended_at, i.issued_at) AT TIME ZONE 'Europe/London')::date + 1,
                    (COALESCE(m.ended_at, i.issued_at) AT TIME ZONE 'Europe/London')::date + 14,
                    interval '1 day') AS d
                WHERE extract(isodow FROM d) < 6 ORDER BY d OFFSET 4 LIMIT 1),
               COALESCE(m.ended_at, i.issued_at), i.issued_at, NULL
        FROM meetings m
        JOIN (SELECT meeting_id, min(created_at) AS issued_at FROM issued_minutes GROUP BY meeting_id) i
          ON i.meeting_id = m.id
        """
    )


def downgrade() -> None:
    op.drop_table("outcome_letters")
    op.drop_index("ix_minutes_corrections_meeting", table_name="minutes_corrections")
    op.drop_table("minutes_corrections")
    op.drop_index(
        "ix_minutes_reviews_drafts", table_name="minutes_reviews", postgresql_where=sa.text("status = 'draft'")
    )
    op.drop_table("minutes_reviews")
