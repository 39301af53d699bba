"""A CSP is known by its inventory id, which its access token names: each tracked GPU of an allocation carries its
CSP's id beside its name.

A slot tracked before allocation's events carried the id keeps none (its server has no known owner), and a GPU first
reported or a host mapped under a CSP's name keeps that name, which no CSP's id matches: map such a host again.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
SCHEMA = "telemetry"


def upgrade() -> None:
    op.add_column("allocation_slot", sa.Column("csp_id", postgresql.UUID(as_uuid=True)), schema=SCHEMA)
    op.create_index(op.f("ix_allocation_slot_csp_id"), "allocation_slot", ["csp_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index(op.f("ix_allocation_slot_csp_id"), table_name="allocation_slot", schema=SCHEMA)
    op.drop_column("allocation_slot", "csp_id", schema=SCHEMA)
