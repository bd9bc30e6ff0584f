"""One family agency per case: a family member whose account sits in another family agency than
the case's first family member (a second parent invited before the fix) is moved into that one,
with their attendance, hands, turns and actions, and the moved agency's positions in the case's
decisions where the family had none; so the family has one voice and one position.

A family account that is also on another case (where it may define that case's family) is left
where it is: an administrator can move it by hand (Administration → the person → Agency).
The emptied agencies are kept: the audit trail and old minutes may name them.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# For each case, the agency of its first family member; each other family member of the case in
# a different agency, and on no other case, moves (user, case, from agency, to agency).
MOVES = """
CREATE TEMPORARY TABLE family_moves ON COMMIT DROP AS
WITH family AS (
    SELECT m.case_id, m.user_id, u.agency_id, m.added_at
    FROM case_members m JOIN users u ON u.id = m.user_id
    WHERE m.role = 'family'
), kept AS (
    SELECT DISTINCT ON (case_id) case_id, agency_id
    FROM family ORDER BY case_id, added_at, user_id
)
SELECT f.user_id, f.case_id, f.agency_id AS from_agency, k.agency_id AS to_agency
FROM family f JOIN kept k ON k.case_id = f.case_id
WHERE f.agency_id <> k.agency_id
  AND NOT EXISTS (SELECT 1 FROM case_members o WHERE o.user_id = f.user_id AND o.case_id <> f.case_id)
"""

STEPS = [
    "DROP TABLE IF EXISTS family_moves",
    MOVES,
    "UPDATE users u SET agency_id = m.to_agency FROM family_moves m WHERE u.id = m.user_id",
    """UPDATE attendance a SET agency_id = m.to_agency FROM family_moves m, meetings g
       WHERE a.user_id = m.user_id AND a.meeting_id = g.id AND g.case_id = m.case_id""",
    """UPDATE hands h SET agency_id = m.to_agency FROM family_moves m, meetings g
       WHERE h.user_id = m.user_id AND h.meeting_id = g.id AND g.case_id = m.case_id""",
    """UPDATE turns t SET agency_id = m.to_agency FROM family_moves m, meetings g
       WHERE t.user_id = m.user_id AND t.meeting_id = g.id AND g.case_id = m.case_id""",
    """UPDATE actions a SET agency_id = m.to_agency FROM family_moves m
       WHERE a.owner_id = m.user_id AND a.case_id = m.case_id""",
    """UPDATE decision_positions p SET agency_id = m.to_agency
       FROM (SELECT DISTINCT case_id, from_agency, to_agency FROM family_moves) m, decisions d, meetings g
       WHERE p.decision_id = d.id AND d.meeting_id = g.id AND g.case_id = m.case_id AND p.agency_id = m.from_agency
         AND NOT EXISTS (
           SELECT 1 FROM decision_positions q WHERE q.decision_id = p.decision_id AND q.agency_id = m.to_agency
         )""",
]


def upgrade() -> None:
    for statement in STEPS:
        op.execute(statement)


def downgrade() -> None:
    """Nothing to undo in the schema; the accounts stay in their one family agency."""
