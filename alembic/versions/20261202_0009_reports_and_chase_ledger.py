"""Reports before a meeting, the family's responses, and the chase ledger for milestones and
reports.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("share_with_family", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("withheld_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pdf_name", sa.String(length=200), nullable=True),
        sa.Column("pdf_size", sa.Integer(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "share_with_family OR withheld_reason IS NOT NULL", name=op.f("ck_reports_withheld_has_reason")
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_reports_agency_id_agencies")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_reports_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_reports_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("meeting_id", "agency_id", name=op.f("uq_reports_meeting_id_agency_id")),
    )
    op.create_index(op.f("ix_reports_meeting_id"), "reports", ["meeting_id"], unique=False)
    op.create_table(
        "report_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("agrees", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_report_responses_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_responses_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_responses")),
    )
    op.create_index(
        "ix_report_responses_report_id_created_at", "report_responses", ["report_id", "created_at"], unique=False
    )
    op.create_table(
        "chase_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_chase_ledger_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chase_ledger")),
        sa.UniqueConstraint("subject", "stage", name="uq_chase_ledger_key"),
    )
    op.create_index(op.f("ix_chase_ledger_case_id"), "chase_ledger", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chase_ledger_case_id"), table_name="chase_ledger")
    op.drop_table("chase_ledger")
    op.drop_index("ix_report_responses_report_id_created_at", table_name="report_responses")
    op.drop_table("report_responses")
    op.drop_index(op.f("ix_reports_meeting_id"), table_name="reports")
    op.drop_table("reports")
