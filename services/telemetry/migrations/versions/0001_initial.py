"""Telemetry's first tables: tracked allocations and their GPUs, CSP samples, the outbox and inbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from servicekit.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "telemetry"


def upgrade() -> None:
    op.create_table(
        "allocation",
        sa.Column("allocation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_gpu_hours_per_month", sa.Integer, nullable=False),
        sa.Column("ladder", sa.Text, nullable=False, server_default="none"),
        sa.Column("warned_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("allocation_id", name="pk_allocation"),
        schema=SCHEMA,
    )
    op.create_table(
        "allocation_slot",
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("server_name", sa.Text, nullable=False),
        sa.Column("gpu_index", sa.Integer, nullable=False),
        sa.Column("csp", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("allocation_id", "server_name", "gpu_index", name="pk_allocation_slot"),
        schema=SCHEMA,
    )
    op.create_index("ix_allocation_slot_server_name_gpu_index", "allocation_slot",
                    ["server_name", "gpu_index"], schema=SCHEMA)
    op.create_table(
        "sample",
        sa.Column("server_name", sa.Text, nullable=False),
        sa.Column("gpu_index", sa.Integer, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("utilization_pct", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("server_name", "gpu_index", "ts", name="pk_sample"),
        schema=SCHEMA,
    )
    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("sample", schema=SCHEMA)
    op.drop_table("allocation_slot", schema=SCHEMA)
    op.drop_table("allocation", schema=SCHEMA)
