"""Allocation's tables, all in the `allocation` schema.

`allocation_gpu` carries an exclusion constraint: PostgreSQL itself refuses one GPU in two overlapping periods.
"""
from __future__ import annotations

from sqlalchemy import (
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
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, UUID, ExcludeConstraint

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

allocation = Table(
    "allocation", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("program", Text, nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", Text, nullable=False, server_default=""),
    Column("warned_at", DateTime(timezone=True)),
    CheckConstraint("gpus > 0", name="gpus_positive"),
    CheckConstraint("ends_at > starts_at", name="period_forward"),
    CheckConstraint("status IN ('active', 'reclaimed', 'released')", name="status_known"),
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
)
