"""An application may hold GPUs for an offer again after a hold lapsed: one allocation per application, lapsed holds
aside.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "allocation"


def upgrade() -> None:
    op.drop_constraint(op.f("uq_allocation_application_id"), "allocation", type_="unique", schema=SCHEMA)
    op.create_index("uq_allocation_application_not_lapsed", "allocation", ["application_id"], unique=True,
                    schema=SCHEMA, postgresql_where=sa.text("status <> 'lapsed'"))


def downgrade() -> None:
    op.drop_index("uq_allocation_application_not_lapsed", "allocation", schema=SCHEMA)
    op.create_unique_constraint(op.f("uq_allocation_application_id"), "allocation", ["application_id"],
                                schema=SCHEMA)
