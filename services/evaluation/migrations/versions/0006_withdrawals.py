"""Evaluation follows withdrawals: each one is kept (even one that arrives before its submission), and a withdrawn
application's review assignments end (`ended_at`), so they no longer count toward a reviewer's load.

An evaluation's `status` may now be `withdrawn`; the column is text, so that needs no change.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
SCHEMA = "evaluation"


def upgrade() -> None:
    # no foreign key to evaluation: a withdrawal may come before the submission it withdraws
    op.create_table(
        "withdrawal",
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_withdrawal")),
        schema=SCHEMA,
    )
    op.add_column("review_assignment", sa.Column("ended_at", sa.DateTime(timezone=True)), schema=SCHEMA)


# the old schema knows no `withdrawn`: each such evaluation goes back to where the withdrawal found it, as near as
# the stored facts tell (rejected, scored, with a panel, or waiting for one)
PREVIOUS_STATUS = f"""
UPDATE {SCHEMA}.evaluation e SET status = CASE
    WHEN e.failed_rules <> '[]'::jsonb THEN 'rejected'
    WHEN e.score IS NOT NULL
         AND (e.program = 'P3' OR EXISTS (SELECT 1 FROM {SCHEMA}.round r WHERE r.call_id = e.call_id)) THEN 'eligible'
    WHEN EXISTS (SELECT 1 FROM {SCHEMA}.review_assignment a WHERE a.application_id = e.application_id) THEN 'in_review'
    ELSE 'awaiting_reviewers' END
WHERE e.status = 'withdrawn'
"""


def downgrade() -> None:
    op.execute(PREVIOUS_STATUS)
    op.drop_column("review_assignment", "ended_at", schema=SCHEMA)
    op.drop_table("withdrawal", schema=SCHEMA)
