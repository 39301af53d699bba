"""Billing's tables, all in the `billing` schema."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Float, Index, Integer, Numeric, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("billing")
messaging = messaging_tables(metadata)
GpuHours = Numeric(18, 6)  # the domain's GPU_HOURS_QUANTUM

tariff = Table(
    "tariff", metadata,
    Column("gpu_model", Text, primary_key=True),
    Column("krw_per_gpu_hour", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("krw_per_gpu_hour > 0", name="krw_per_gpu_hour_positive"),
)

account = Table(
    "account", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("krw_per_gpu_hour", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Index("ix_account_application_id", "application_id"),
    Index("ix_account_open_ends_at", "ends_at", postgresql_where=text("status = 'open'")),
)

usage_entry = Table(
    "usage_entry", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("gpu_hours", GpuHours, nullable=False),
    Column("utilization_pct", Float, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_usage_entry_allocation_window", "allocation_id", "window_start"),
)

invoice = Table(
    "invoice", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("allocation_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("gpu_hours", GpuHours, nullable=False),
    Column("krw_per_gpu_hour", Integer, nullable=False),
    Column("market_value_krw", BigInteger, nullable=False),
    Column("payable_krw", BigInteger, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("market_value_krw >= 0 AND payable_krw >= 0 AND payable_krw <= market_value_krw",
                    name="amounts_valid"),
    Index("ix_invoice_application_issued", "application_id", "issued_at"),
)
