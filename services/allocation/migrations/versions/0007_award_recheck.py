"""Offers have a kind: `waitlist` (freed capacity for the next in line, answered by the partner) or `award` (a round's
selected application held while evaluation re-checks it at award time). A round decision can be found by its
application, to be revised when the re-check at award rejects it.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
SCHEMA = "allocation"


def upgrade() -> None:
    op.add_column("offer", sa.Column("kind", sa.Text, nullable=False, server_default="waitlist"), schema=SCHEMA)
    op.create_check_constraint(op.f("ck_offer_kind_known"), "offer", "kind IN ('waitlist', 'award')", schema=SCHEMA)
    op.create_index("ix_round_decision_application_id", "round_decision", ["application_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_round_decision_application_id", "round_decision", schema=SCHEMA)
    op.drop_constraint(op.f("ck_offer_kind_known"), "offer", type_="check", schema=SCHEMA)
    op.drop_column("offer", "kind", schema=SCHEMA)
