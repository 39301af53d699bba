"""Evaluation's tables, all in the `evaluation` schema."""
from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("evaluation")
messaging = messaging_tables(metadata)

evaluation = Table(
    "evaluation", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, nullable=False),
    Column("call_id", UUID(as_uuid=True)),
    Column("status", Text, nullable=False),
    Column("score", Numeric(5, 2, asdecimal=False)),
    Column("policy_version", Text, nullable=False),
    Column("explanation", JSONB, nullable=False),
    Column("failed_rules", JSONB, nullable=False),
    Column("applicant_sector", Text, nullable=False),
    Column("applicant_institution", Text, nullable=False),
    Column("applicant_region", Text, nullable=False),
    Column("gpus_requested", Integer, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("planned_gpu_hours_per_month", Integer, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Index("ix_evaluation_evaluated_at", "evaluated_at"),
    Index("ix_evaluation_program_status_evaluated_at", "program", "status", "evaluated_at"),
)
