"""Allocation's first tables: inventory, allocations and their GPUs, the waitlist, round candidates, outbox, inbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSTZRANGE, UUID, ExcludeConstraint

from servicekit.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "allocation"


def upgrade() -> None:
    # the exclusion constraint compares uuid/int with `=` inside a GiST index: btree_gist provides those operators
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    _create_inventory()
    _create_allocations()
    _create_waiting_lines()
    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    for table in ("round_candidate", "waitlist", "allocation_gpu", "allocation", "server", "csp"):
        op.drop_table(table, schema=SCHEMA)


def _create_inventory() -> None:
    op.create_table(
        "csp",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        schema=SCHEMA,
    )
    op.create_table(
        "server",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("csp_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.csp.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False, server_default="8"),
        sa.Column("pool", sa.Text, nullable=False),
        sa.CheckConstraint("gpus > 0", name="gpus_positive"),
        sa.CheckConstraint("pool IN ('P1', 'P2', 'P3')", name="pool_known"),
        schema=SCHEMA,
    )
    op.create_index("ix_server_pool_gpu_model", "server", ["pool", "gpu_model"], schema=SCHEMA)


def _create_allocations() -> None:
    op.create_table(
        "allocation",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("end_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("warned_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("gpus > 0", name="gpus_positive"),
        sa.CheckConstraint("ends_at > starts_at", name="period_forward"),
        sa.CheckConstraint("status IN ('active', 'reclaimed', 'released')", name="status_known"),
        schema=SCHEMA,
    )
    op.create_table(
        "allocation_gpu",
        sa.Column("allocation_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.allocation.id"), nullable=False),
        sa.Column("server_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.server.id"), nullable=False),
        sa.Column("gpu_index", sa.Integer, nullable=False),
        sa.Column("during", TSTZRANGE, nullable=False),
        sa.PrimaryKeyConstraint("allocation_id", "server_id", "gpu_index"),
        sa.CheckConstraint("gpu_index >= 0", name="gpu_index_not_negative"),
        ExcludeConstraint(("server_id", "="), ("gpu_index", "="), ("during", "&&"), using="gist",
                          name="ex_allocation_gpu_no_double_booking"),
        schema=SCHEMA,
    )


def _create_waiting_lines() -> None:
    op.create_table(
        "waitlist",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("period", TSTZRANGE, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "round_candidate",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("call_id", UUID(as_uuid=True)),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("track", sa.Text, nullable=False),
        sa.Column("institution", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("period", TSTZRANGE, nullable=False),
        schema=SCHEMA,
    )
