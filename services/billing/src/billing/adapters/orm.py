"""Billing's tables, all in the `billing` schema.

The ledger is append-only (no statement of the service updates or deletes a `ledger_line`); documents link the
ledger lines they cover, and a line is billed while a document that is issued or paid links it.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("billing")
messaging = messaging_tables(metadata)
GpuHours = Numeric(18, 6)

application = Table(
    "application", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("partner_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("organisation", Text, nullable=False),
    Column("business_registration_number", Text),
    Column("participants", JSONB, nullable=False),
    Column("open_source_pledged", Boolean, nullable=False),
)

youth = Table(  # evaluation's finding, which may be read before the submission it is about
    "youth", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("youth", Boolean, nullable=False),
)

release = Table(
    "release", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("url", Text, nullable=False),
    Column("released_on", Date, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", Text, nullable=False),
)

grant = Table(
    "grant", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus_by_csp", JSONB, nullable=False),  # {csp: GPUs}
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Index("ix_grant_application_id", "application_id"),
    Index("ix_grant_gpu_model_ends_at", "gpu_model", "ends_at"),
)

grant_end = Table(  # a reclaim or withdrawal: the earliest one read ends the billed period
    "grant_end", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("ended_at", DateTime(timezone=True), nullable=False),
)

market_price = Table(
    "market_price", metadata,
    Column("csp", Text, primary_key=True),
    Column("gpu_model", Text, primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("krw_per_gpu_hour", Integer, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("set_by", Text, nullable=False),
    CheckConstraint("krw_per_gpu_hour > 0", name="krw_per_gpu_hour_positive"),
)

ledger_line = Table(
    "ledger_line", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("partner_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("payer_kind", Text, nullable=False),
    Column("payer_key", Text, nullable=False),
    Column("payer_name", Text, nullable=False),
    Column("csp", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("krw_per_gpu_hour", Integer, nullable=False),
    Column("share_numerator", BigInteger, nullable=False),
    Column("share_denominator", BigInteger, nullable=False),
    Column("gpu_minutes", BigInteger, nullable=False),
    Column("amount_krw", BigInteger, nullable=False),
    Column("direction", SmallInteger, nullable=False),
    Column("cause_event_id", UUID(as_uuid=True), nullable=False),
    Column("cause_type", Text, nullable=False),
    Column("cause_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("direction IN (1, -1)", name="direction_valid"),
    CheckConstraint("(direction = 1 AND amount_krw >= 0) OR (direction = -1 AND amount_krw <= 0)",
                    name="amount_matches_direction"),
    CheckConstraint("share_denominator > 0", name="share_denominator_positive"),
    Index("ix_ledger_line_allocation_id", "allocation_id"),
    Index("ix_ledger_line_payer", "partner_id", "payer_key"),
    Index("ix_ledger_line_period", "period_start"),
)

document = Table(
    "document", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("number", Text, unique=True),
    Column("status", Text, nullable=False),
    Column("partner_id", UUID(as_uuid=True), nullable=False),
    Column("payer_kind", Text, nullable=False),
    Column("payer_key", Text, nullable=False),
    Column("payer_name", Text, nullable=False),
    Column("month", Date, nullable=False),
    Column("total_krw", BigInteger, nullable=False),
    Column("reason", Text),
    Column("credits", ARRAY(Text), nullable=False, server_default="{}"),
    Column("drafted_at", DateTime(timezone=True), nullable=False),
    Column("issued_at", DateTime(timezone=True)),
    Column("paid_at", DateTime(timezone=True)),
    Column("payment_reference", Text),
    Column("voided_at", DateTime(timezone=True)),
    Column("void_reason", Text),
    Column("changed_by", Text),
    CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_valid"),
    CheckConstraint("status IN ('draft', 'issued', 'paid', 'void')", name="status_valid"),
    CheckConstraint("(status = 'draft') = (number IS NULL)", name="numbered_once_issued"),
    CheckConstraint("total_krw >= 0", name="total_not_negative"),
    Index("ix_document_partner_month", "partner_id", "month"),
    Index("ix_document_status", "status"),
)

document_line = Table(
    "document_line", metadata,
    Column("document_id", UUID(as_uuid=True), ForeignKey(document.c.id, ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("csp", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("gpu_minutes", BigInteger, nullable=False),
    Column("krw_per_gpu_hour", Integer, nullable=False),
    Column("share_numerator", BigInteger, nullable=False),
    Column("share_denominator", BigInteger, nullable=False),
    Column("amount_krw", BigInteger, nullable=False),
    Column("busy_gpu_hours", GpuHours),
)

document_ledger_line = Table(
    "document_ledger_line", metadata,
    Column("document_id", UUID(as_uuid=True), ForeignKey(document.c.id, ondelete="CASCADE"), primary_key=True),
    Column("ledger_line_id", BigInteger, ForeignKey(ledger_line.c.id), primary_key=True),
    Index("ix_document_ledger_line_line", "ledger_line_id"),
)

document_counter = Table(
    "document_counter", metadata,
    Column("kind", Text, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
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
