"""Evaluation's tables, all in the `evaluation` schema."""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
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
    Column("applicant_name", Text, nullable=False, server_default=""),
    Column("gpus_requested", Integer, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("planned_gpu_hours_per_month", Integer, nullable=False),
    Column("purpose", Text, nullable=False, server_default=""),
    Column("company", JSONB),
    Column("researcher", JSONB),
    Column("servers_requested", Integer),
    Column("corporate_participants", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("open_source", Boolean, nullable=False, server_default=text("false")),
    Column("training_data_scale", Text),
    Column("earliest_start", Date),
    Column("acceptable_window_months", Integer),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Index("ix_evaluation_evaluated_at", "evaluated_at"),
    Index("ix_evaluation_program_status_evaluated_at", "program", "status", "evaluated_at"),
    Index("ix_evaluation_call_id", "call_id"),
    Index("ix_evaluation_status_submitted_at", "status", "submitted_at"),
)

policy_version = Table(
    "policy_version", metadata,
    Column("version", Text, primary_key=True),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("rules", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", Text, nullable=False),
    Column("created_by_role", Text, nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancelled_by", Text),
    Column("cancelled_by_role", Text),
    # two live versions starting at once would make "the version in force" ambiguous; a cancelled one frees its time
    Index("ux_policy_version_effective_at_live", "effective_at", unique=True,
          postgresql_where=text("cancelled_at IS NULL")),
    CheckConstraint("(cancelled_at IS NULL) = (cancelled_by IS NULL) AND "
                    "(cancelled_at IS NULL) = (cancelled_by_role IS NULL)", name="cancelled"),
)

reviewer = Table(
    "reviewer", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("institution", Text, nullable=False),
    Column("expertise", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

review_assignment = Table(
    "review_assignment", metadata,
    Column("application_id", UUID(as_uuid=True), ForeignKey("evaluation.evaluation.application_id"),
           nullable=False),
    Column("reviewer_id", UUID(as_uuid=True), ForeignKey("evaluation.reviewer.id"), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("scores", JSONB),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),  # the application was withdrawn before this review came
    PrimaryKeyConstraint("application_id", "reviewer_id"),
    Index("ix_review_assignment_reviewer_id", "reviewer_id"),
)

review_exclusion = Table(
    "review_exclusion", metadata,
    Column("application_id", UUID(as_uuid=True), ForeignKey("evaluation.evaluation.application_id"),
           nullable=False),
    Column("reviewer_id", UUID(as_uuid=True), ForeignKey("evaluation.reviewer.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("excluded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("application_id", "reviewer_id"),
)

# no foreign key to `evaluation`: a withdrawal may arrive before the submission it withdraws
withdrawal = Table(
    "withdrawal", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("withdrawn_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

call_round = Table(
    "round", metadata,
    Column("call_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, nullable=False),
    Column("opens_at", DateTime(timezone=True), nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=False),
    Column("application_ids", JSONB, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("scored_at", DateTime(timezone=True)),
)
