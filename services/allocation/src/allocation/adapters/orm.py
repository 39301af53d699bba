"""Allocation's tables, all in the `allocation` schema.

`allocation_gpu` carries an exclusion constraint: PostgreSQL itself refuses one GPU in two overlapping periods.
"""
from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE, UUID, ExcludeConstraint

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("allocation")
messaging = messaging_tables(metadata)

csp = Table(
    "csp", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
)

server = Table(
    "server", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("csp_id", UUID(as_uuid=True), ForeignKey("csp.id"), nullable=False),
    Column("name", Text, nullable=False, unique=True),
    Column("region", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus", Integer, nullable=False, server_default="8"),
    Column("pool", Text, nullable=False),
    CheckConstraint("gpus > 0", name="gpus_positive"),
    CheckConstraint("pool IN ('P1', 'P2', 'P3')", name="pool_known"),
    Index("ix_server_pool_gpu_model", "pool", "gpu_model"),
)

# the UUIDs of a server's GPUs (DCGM's `UUID` label), by GPU index: each GPU of the inventory has its own
server_gpu = Table(
    "server_gpu", metadata,
    Column("server_id", UUID(as_uuid=True), ForeignKey("server.id"), nullable=False),
    Column("gpu_index", Integer, nullable=False),
    Column("gpu_uuid", Text, nullable=False, unique=True),
    PrimaryKeyConstraint("server_id", "gpu_index"),
    CheckConstraint("gpu_index >= 0", name="gpu_index_not_negative"),
)

server_window = Table(
    "server_window", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("server_id", UUID(as_uuid=True), ForeignKey("server.id"), nullable=False),
    Column("pool", Text, nullable=False),
    Column("during", TSTZRANGE, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ExcludeConstraint(("server_id", "="), ("during", "&&"), using="gist", name="ex_server_window_overlap"),
)

allocation = Table(
    "allocation", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", Text, nullable=False, server_default=""),
    Column("warned_at", DateTime(timezone=True)),
    Column("waived_at", DateTime(timezone=True)),
    CheckConstraint("gpus > 0", name="gpus_positive"),
    CheckConstraint("ends_at > starts_at", name="period_forward"),
    CheckConstraint("status IN ('active', 'reclaimed', 'released', 'offered', 'lapsed')", name="status_known"),
    # one allocation per application; a lapsed hold (an offer not taken up) does not count
    Index("uq_allocation_application_not_lapsed", "application_id", unique=True,
          postgresql_where=text("status <> 'lapsed'")),
)

allocation_gpu = Table(
    "allocation_gpu", metadata,
    Column("allocation_id", UUID(as_uuid=True), ForeignKey("allocation.id"), nullable=False),
    Column("server_id", UUID(as_uuid=True), ForeignKey("server.id"), nullable=False),
    Column("gpu_index", Integer, nullable=False),
    Column("during", TSTZRANGE, nullable=False),
    PrimaryKeyConstraint("allocation_id", "server_id", "gpu_index"),
    CheckConstraint("gpu_index >= 0", name="gpu_index_not_negative"),
    ExcludeConstraint(("server_id", "="), ("gpu_index", "="), ("during", "&&"), using="gist",
                      name="ex_allocation_gpu_no_double_booking"),
)

waitlist = Table(
    "waitlist", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("period", TSTZRANGE, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("call_id", UUID(as_uuid=True)),
    Column("rank", Integer),
    Column("track", Text, nullable=False, server_default="general"),
    Column("institution", Text, nullable=False, server_default=""),
    Column("planned_gpu_hours_per_month", Integer, nullable=False, server_default="1"),
    Column("min_days", Integer),
    Column("offer_id", UUID(as_uuid=True)),
)

round_candidate = Table(
    "round_candidate", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, nullable=False),
    Column("call_id", UUID(as_uuid=True)),
    Column("score", Float, nullable=False),
    Column("track", Text, nullable=False),
    Column("institution", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("period", TSTZRANGE, nullable=False),
    Column("planned_gpu_hours_per_month", Integer, nullable=False, server_default="1"),
    # what the score was made of, for the what-if; NULL / empty when evaluation published none of it
    Column("region_class", Text),
    Column("sector", Text),
    Column("bonuses", JSONB, nullable=False, server_default="{}"),
    Column("rubric_means", JSONB, nullable=False, server_default="{}"),
    CheckConstraint("region_class IN ('capital', 'non_capital')", name="region_class_known"),
)

excluded_application = Table(
    "excluded_application", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

round_ = Table(
    "round", metadata,
    Column("call_id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, nullable=False),
    Column("expected", ARRAY(UUID(as_uuid=True)), nullable=False),
    Column("status", Text, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("selected_at", DateTime(timezone=True)),
    Column("method", Text),
    Column("objective", Float),
    Column("capacity", JSON, nullable=False, server_default="{}"),
    Column("reserve_gpus", Integer, nullable=False, server_default="0"),
    Column("reserve_gpus_used", Integer, nullable=False, server_default="0"),
    Column("solve_seconds", Float),
)

round_decision = Table(
    "round_decision", metadata,
    Column("call_id", UUID(as_uuid=True), ForeignKey("round.call_id"), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("selected", Boolean, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("basis", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("allocation_id", UUID(as_uuid=True)),
    PrimaryKeyConstraint("call_id", "application_id"),
    Index("ix_round_decision_application_id", "application_id"),  # a decision revised at award is found by it
)

# what a round's selection started from, kept in its transaction for the what-if: the rules in force, the GPUs free
# per model, and every candidate with what its score was made of (a JSON array, one object per candidate)
round_input = Table(
    "round_input", metadata,
    Column("call_id", UUID(as_uuid=True), ForeignKey("round.call_id"), primary_key=True),
    Column("rules", JSONB, nullable=False),
    Column("capacity", JSONB, nullable=False),
    Column("candidates", JSONB, nullable=False),
    Column("kept_at", DateTime(timezone=True), nullable=False),
)

offer = Table(
    "offer", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("allocation_id", UUID(as_uuid=True), ForeignKey("allocation.id"), nullable=False),
    Column("program", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("freed_at", DateTime(timezone=True), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("made_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    Column("planned_gpu_hours_per_month", Integer, nullable=False),
    Column("kind", Text, nullable=False, server_default="waitlist"),
    CheckConstraint("kind IN ('waitlist', 'award')", name="kind_known"),
)
