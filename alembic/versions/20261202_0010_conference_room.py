"""The conference in the room: live notes per agenda item and the minute-taker, the child's voice,
Signs of Safety mapping and 0-10 scaling.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("meetings", sa.Column("minute_taker_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_meetings_minute_taker_id_users"), "meetings", "users", ["minute_taker_id"], ["id"], ondelete="SET NULL"
    )
    op.add_column("agenda_items", sa.Column("is_child_voice", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("agenda_items", sa.Column("notes", sa.Text(), server_default="", nullable=False))
    op.add_column("agenda_items", sa.Column("notes_version", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "mapping_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("column", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("agenda_item_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(text) > 0", name=op.f("ck_mapping_entries_text")),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_mapping_entries_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_mapping_entries_author_id_users")),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_mapping_entries_agenda_item_id_agenda_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_entries")),
    )
    op.create_index(op.f("ix_mapping_entries_meeting_id"), "mapping_entries", ["meeting_id"])
    op.create_table(
        "scales",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agenda_item_id", sa.Uuid(), nullable=True),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'revealed')", name=op.f("ck_scales_status")),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_scales_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_scales_agenda_item_id_agenda_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scales")),
    )
    op.create_index(op.f("ix_scales_meeting_id"), "scales", ["meeting_id"])
    op.create_table(
        "scale_scores",
        sa.Column("scale_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 10", name=op.f("ck_scale_scores_score")),
        sa.ForeignKeyConstraint(
            ["scale_id"], ["scales.id"], name=op.f("fk_scale_scores_scale_id_scales"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_scale_scores_user_id_users")),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_scale_scores_agency_id_agencies")),
        sa.PrimaryKeyConstraint("scale_id", "user_id", name=op.f("pk_scale_scores")),
    )
    op.create_table(
        "child_voices",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("how_gathered", sa.Text(), server_default="", nullable=False),
        sa.Column("gathered_by_id", sa.Uuid(), nullable=True),
        sa.Column("words", sa.Text(), server_default="", nullable=False),
        sa.Column("child_attended", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("advocate_offered", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_child_voices_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["gathered_by_id"], ["users.id"], name=op.f("fk_child_voices_gathered_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_child_voices_recorded_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_child_voices")),
    )


def downgrade() -> None:
    op.drop_table("child_voices")
    op.drop_table("scale_scores")
    op.drop_index(op.f("ix_scales_meeting_id"), table_name="scales")
    op.drop_table("scales")
    op.drop_index(op.f("ix_mapping_entries_meeting_id"), table_name="mapping_entries")
    op.drop_table("mapping_entries")
    op.drop_column("agenda_items", "notes_version")
    op.drop_column("agenda_items", "notes")
    op.drop_column("agenda_items", "is_child_voice")
    op.drop_constraint(op.f("fk_meetings_minute_taker_id_users"), "meetings", type_="foreignkey")
    op.drop_column("meetings", "minute_taker_id")
