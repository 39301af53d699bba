"""Intake's tables, all in the `intake` schema."""
from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("intake")
messaging = messaging_tables(metadata)

application = Table(
    "application", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("partner_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("call_id", UUID(as_uuid=True)),
    Column("applicant_name", Text, nullable=False),
    Column("applicant_sector", Text, nullable=False),
    Column("applicant_institution", Text, nullable=False),
    Column("applicant_region", Text, nullable=False),
    Column("gpus_requested", Integer, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("planned_gpu_hours_per_month", Integer, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Index("ix_application_partner_submitted", "partner_id", "submitted_at"),
)

application_status = Table(
    "application_status", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
