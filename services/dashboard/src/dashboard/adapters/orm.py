"""The dashboard's tables, all in the `dashboard` schema: its read model, rebuilt from the topics if need be."""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("dashboard")
messaging = messaging_tables(metadata)

# every event read, in the order read (`seq`, which the live stream resumes from)
event = Table(
    "event", metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("application_id", UUID(as_uuid=True)),
    Column("program", Text),
    Column("call_id", UUID(as_uuid=True)),
    Column("csps", ARRAY(Text), nullable=False, server_default="{}"),
    Column("payload", JSONB, nullable=False),
    Index("ix_event_application_id", "application_id", "seq"),
    Index("ix_event_type", "type", "seq"),
    Index("ix_event_call_id", "call_id", "seq", postgresql_where=text("call_id IS NOT NULL")),
    Index("ix_event_application_ids", text("(payload -> 'application_ids')"), postgresql_using="gin",
          postgresql_where=text("payload ? 'application_ids'")),
)

# each application's place in the funnel
application = Table(
    "application", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("stage", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("program", Text),
    Column("call_id", UUID(as_uuid=True)),
    Column("gpus", Integer, nullable=False, server_default="0"),
    Column("csps", ARRAY(Text), nullable=False, server_default="{}"),
    Column("ends_at", DateTime(timezone=True)),
    Index("ix_application_program_call", "program", "call_id"),
)


# every record a consumer of the platform parked on a dead-letter topic, read raw (it may not decode), with why it
# was parked, where it came from, and whether an operator has re-driven it (docs/dashboard.md)
dead_letter = Table(
    "dead_letter", metadata,
    Column("dlq_topic", Text, primary_key=True),
    Column("dlq_partition", Integer, primary_key=True),
    Column("dlq_offset", BigInteger, primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("source_topic", Text),
    Column("source_partition", Integer),
    Column("source_offset", BigInteger),
    Column("consumer", Text),
    Column("handler", Text),
    Column("attempts", Integer),
    Column("reason", Text),
    Column("error", Text),
    Column("event_type", Text),
    Column("event_id", Text),
    Column("key", Text),
    Column("value_excerpt", Text),
    Column("value_bytes", Integer),
    Column("headers", JSONB, nullable=False, server_default="{}"),
    Column("parked_at", DateTime(timezone=True), nullable=False),
    Column("redriven_at", DateTime(timezone=True)),
    Column("redriven_by", Text),
    Index("ix_dead_letter_parked_at", "parked_at", "seq"),
    Index("ix_dead_letter_consumer", "consumer", "parked_at", "seq"),
)


# --- the views: balance, demand, occupancy, the reclaim ladder, the CSPs' alerts (migration 0003_views) -----------

# what the submission, the score and an offer told of each application (null where not told yet)
application_profile = Table(
    "application_profile", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text),
    Column("call_id", UUID(as_uuid=True)),
    Column("institution", Text),
    Column("sector", Text),
    Column("company_size", Text),
    Column("capital", Boolean),
    Column("gpu_model", Text),
    Column("gpus_requested", Integer),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("submitted_at", DateTime(timezone=True)),
    Column("scored_at", DateTime(timezone=True)),
    Column("track", Text),
    Column("facts", ARRAY(Text)),
    Column("offered_at", DateTime(timezone=True)),
    Index("ix_application_profile_program_call", "program", "call_id"),
)

# each allocation: its grant and, once read, its reclaim (either may be read first)
allocation = Table(
    "allocation", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text),
    Column("gpu_model", Text),
    Column("gpus", Integer),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("reclaimed_at", DateTime(timezone=True)),
    Column("reclaim_reason", Text),
    # the balance reads each application's GPUs allocated from the index alone
    Index("ix_allocation_application_id", "application_id", postgresql_include=["program", "gpus"]),
    Index("ix_allocation_period", "starts_at", "ends_at"),
)

# how many of an allocation's GPUs each CSP hosts
allocation_csp = Table(
    "allocation_csp", metadata,
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("csp", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    PrimaryKeyConstraint("allocation_id", "csp"),
)

# each P1/P2 round decided, with its early-career reserve
round_result = Table(
    "round_result", metadata,
    Column("call_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, nullable=False),
    Column("selected", Integer, nullable=False),
    Column("waitlisted", Integer, nullable=False),
    Column("gpus_awarded", Integer, nullable=False),
    Column("reserve_gpus", Integer, nullable=False),
    Column("reserve_gpus_used", Integer, nullable=False),
    Column("selected_at", DateTime(timezone=True), nullable=False),
)

# every step of every allocation's reclaim ladder: drops (warning, reclaim) and clearings (recovered, waived)
ladder_step = Table(
    "ladder_step", metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("rule", Text),
    Column("utilization_pct", Float),
    Column("threshold_pct", Float),
    Column("actual_gpu_hours", Float),
    Column("planned_gpu_hours", Float),
    Column("required_gpu_hours", Float),
    Index("ix_ladder_step_allocation_id", "allocation_id", "at"),
)

# the latest telemetry alert of each allocation, for each CSP it named
stale_alert = Table(
    "stale_alert", metadata,
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("csp", Text, nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("last_sample_at", DateTime(timezone=True)),
    Column("coverage", Float),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("allocation_id", "csp"),
    Index("ix_stale_alert_csp", "csp", "detected_at"),
)
