"""Telemetry's tables, all in the `telemetry` schema."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Double, Index, Integer, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("telemetry")
messaging = messaging_tables(metadata)

allocation = Table(
    "allocation", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("planned_gpu_hours_per_month", Integer, nullable=False),
    Column("ladder", Text, nullable=False, server_default="none"),
    Column("warned_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
)

allocation_slot = Table(
    "allocation_slot", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("server_name", Text, primary_key=True),
    Column("gpu_index", Integer, primary_key=True),
    Column("csp", Text, nullable=False, server_default=""),
    # samples arrive by GPU: find who holds it
    Index("ix_allocation_slot_server_name_gpu_index", "server_name", "gpu_index"),
)

sample = Table(
    "sample", metadata,
    Column("server_name", Text, primary_key=True),
    Column("gpu_index", Integer, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("utilization_pct", Double, nullable=False),
)

# a CSP's names for its hosts (the DCGM exporter's `Hostname`), where they are not the server's name
csp_host = Table(
    "csp_host", metadata,
    Column("csp", Text, primary_key=True),
    Column("hostname", Text, primary_key=True),
    Column("server_name", Text, nullable=False),
)
