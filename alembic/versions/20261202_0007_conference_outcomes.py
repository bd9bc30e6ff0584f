"""The outcome of a child protection conference, with each agency's view.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conference_outcomes",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.Boolean(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String(length=32)), server_default="{}", nullable=False),
        sa.Column("reasons", sa.Text(), server_default="", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "NOT plan OR cardinality(categories) > 0", name=op.f("ck_conference_outcomes_plan_has_category")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_conference_outcomes_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_conference_outcomes_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_conference_outcomes")),
    )
    op.create_table(
        "conference_outcome_views",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("view", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint("view IN ('plan', 'no_plan')", name=op.f("ck_conference_outcome_views_view")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_conference_outcome_views_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["conference_outcomes.meeting_id"],
            name=op.f("fk_conference_outcome_views_meeting_id_conference_outcomes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "agency_id", name=op.f("pk_conference_outcome_views")),
    )


def downgrade() -> None:
    op.drop_table("conference_outcome_views")
    op.drop_table("conference_outcomes")
