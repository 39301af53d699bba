"""Billing's first tables: tariffs, usage accounts, usage entries, invoices, the outbox and inbox.

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
SCHEMA = "billing"


def upgrade() -> None:
    _create_tariff()
    _create_account()
    _create_usage_entry()
    _create_invoice()
    create_messaging_tables(op, SCHEMA)


def _create_tariff() -> None:
    op.create_table(
        "tariff",
        sa.Column("gpu_model", sa.Text, primary_key=True),
        sa.Column("krw_per_gpu_hour", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("krw_per_gpu_hour > 0", name="ck_tariff_krw_per_gpu_hour_positive"),
        schema=SCHEMA,
    )


def _create_account() -> None:
    op.create_table(
        "account",
        sa.Column("allocation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("krw_per_gpu_hour", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_account_application_id", "account", ["application_id"], schema=SCHEMA)
    op.create_index("ix_account_open_ends_at", "account", ["ends_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'open'"))


def _create_usage_entry() -> None:
    op.create_table(
        "usage_entry",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gpu_hours", sa.Numeric(18, 6), nullable=False),
        sa.Column("utilization_pct", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_usage_entry_allocation_window", "usage_entry", ["allocation_id", "window_start"],
                    schema=SCHEMA)


def _create_invoice() -> None:
    op.create_table(
        "invoice",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gpu_hours", sa.Numeric(18, 6), nullable=False),
        sa.Column("krw_per_gpu_hour", sa.Integer, nullable=False),
        sa.Column("market_value_krw", sa.BigInteger, nullable=False),
        sa.Column("payable_krw", sa.BigInteger, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("allocation_id", name="uq_invoice_allocation_id"),
        sa.CheckConstraint("market_value_krw >= 0 AND payable_krw >= 0 AND payable_krw <= market_value_krw",
                           name="ck_invoice_amounts_valid"),
        schema=SCHEMA,
    )
    op.create_index("ix_invoice_application_issued", "invoice", ["application_id", "issued_at"], schema=SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("invoice", schema=SCHEMA)
    op.drop_table("usage_entry", schema=SCHEMA)
    op.drop_table("account", schema=SCHEMA)
    op.drop_table("tariff", schema=SCHEMA)
