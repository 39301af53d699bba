"""The CSPs' host mappings: the name a CSP's exporter gives a host (DCGM's `Hostname`) → our server name.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "telemetry"


def upgrade() -> None:
    op.create_table(
        "csp_host",
        sa.Column("csp", sa.Text, nullable=False),
        sa.Column("hostname", sa.Text, nullable=False),
        sa.Column("server_name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("csp", "hostname", name="pk_csp_host"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("csp_host", schema=SCHEMA)
