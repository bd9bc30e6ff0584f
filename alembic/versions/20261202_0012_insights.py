"""Partnership insights: who may read them, and what is kept of each ended meeting for them.

``insight_meetings`` marks the ended meetings already counted (with their case and end, indexed
for a period and for a case); ``insight_meeting_agencies`` holds, per agency invited, whether it
attended, its speaking seconds, the items it was present at but not heard on, and whether its
report was expected and on time. They fill
themselves the first time a reading covers a meeting (server/insights/queries.py), so nothing
is backfilled here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("can_see_insights", sa.Boolean(), server_default="false", nullable=False))
    op.create_table(
        "insight_meetings",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_insight_meetings_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_insight_meetings_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_insight_meetings")),
    )
    op.create_index("ix_insight_meetings_ended_at", "insight_meetings", ["ended_at"])
    op.create_index("ix_insight_meetings_case_id_ended_at", "insight_meetings", ["case_id", "ended_at"])
    op.create_table(
        "insight_meeting_agencies",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("speaking_seconds", sa.Float(), nullable=False),
        sa.Column("items_present_not_heard", sa.Integer(), nullable=False),
        sa.Column("report_expected", sa.Boolean(), nullable=False),
        sa.Column("report_on_time", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_insight_meeting_agencies_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["insight_meetings.meeting_id"],
            name=op.f("fk_insight_meeting_agencies_meeting_id_insight_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "agency_id", name=op.f("pk_insight_meeting_agencies")),
    )


def downgrade() -> None:
    op.drop_table("insight_meeting_agencies")
    op.drop_index("ix_insight_meetings_case_id_ended_at", table_name="insight_meetings")
    op.drop_index("ix_insight_meetings_ended_at", table_name="insight_meetings")
    op.drop_table("insight_meetings")
    op.drop_column("users", "can_see_insights")
