"""Whether the chair of a meeting also speaks for their agency (counted as a voice), and which
hands a go-round queued (tagged "Round", not "Raised by the chair").

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "meetings",
        sa.Column("chair_speaks_for_agency", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("hands", sa.Column("by_round", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("hands", "by_round")
    op.drop_column("meetings", "chair_speaks_for_agency")
