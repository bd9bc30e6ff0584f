"""The audit trail is append-only; the chase finds declined and blocked actions by an index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSE_CHANGES = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
ON_EVERY_ROW = """
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
"""


def upgrade() -> None:
    op.execute(REFUSE_CHANGES)
    op.execute(ON_EVERY_ROW)
    op.create_index(
        "ix_actions_escalation_events",
        "actions",
        ["id"],
        postgresql_where=sa.text(
            "status NOT IN ('done', 'cancelled', 'not_achieved') AND (declined_count > 0 OR blocked_count > 0)"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_actions_escalation_events", table_name="actions")
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
