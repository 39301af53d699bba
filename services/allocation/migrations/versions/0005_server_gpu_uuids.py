"""The UUIDs of a server's GPUs (the DCGM exporter's `UUID` label), by GPU index: each GPU of the inventory has its
own. Existing servers have none until an operator sets them.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "allocation"


def upgrade() -> None:
    op.create_table(
        "server_gpu",
        sa.Column("server_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.server.id"), nullable=False),
        sa.Column("gpu_index", sa.Integer, nullable=False),
        sa.Column("gpu_uuid", sa.Text, nullable=False, unique=True),
        sa.PrimaryKeyConstraint("server_id", "gpu_index"),
        sa.CheckConstraint("gpu_index >= 0", name="gpu_index_not_negative"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("server_gpu", schema=SCHEMA)
