"""Telemetry's tables, all in the `telemetry` schema.

Raw samples are partitioned by day (`sample_pYYYYMMDD`, created as samples arrive and ahead by the worker, dropped
after the retention); the hourly rollups per GPU and per allocation stay.
"""
from __future__ import annotations

from sqlalchemy import REAL as Real
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)
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
    Column("waived_at", DateTime(timezone=True)),
    Column("stale_since", DateTime(timezone=True)),
)

allocation_slot = Table(
    "allocation_slot", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("server_name", Text, primary_key=True),
    Column("gpu_index", Integer, primary_key=True),
    Column("csp", Text, nullable=False, server_default=""),  # the CSP's name, for people
    Column("gpu_uuid", Text),
    # the CSP's id, which its token names (migration 0006); none on a slot tracked before events carried it
    Column("csp_id", UUID(as_uuid=True)),
    # samples arrive by GPU: find who holds it
    Index("ix_allocation_slot_server_name_gpu_index", "server_name", "gpu_index"),
    Index("ix_allocation_slot_gpu_uuid", "gpu_uuid"),
    Index("ix_allocation_slot_csp_id", "csp_id"),
)

# each GPU a sample has named, by a small number the raw rows carry instead of the server's name
gpu = Table(
    "gpu", metadata,
    Column("gpu_id", Integer, Identity(), primary_key=True),
    Column("server_name", Text, nullable=False),
    Column("gpu_index", Integer, nullable=False),
    # the CSP that first reported it: its id as text (its name, for a GPU first reported before migration 0006)
    Column("csp", Text, nullable=False, server_default=""),
    UniqueConstraint("server_name", "gpu_index", name="uq_gpu_server_name_gpu_index"),
)

# partitioned by range of ts (one partition a day); real: a DCGM reading has no more precision than that
sample = Table(
    "sample", metadata,
    Column("gpu_id", Integer, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("utilization_pct", Real, nullable=False),
    Column("memory_used_mib", Real),
    Column("power_w", Real),
    postgresql_partition_by="RANGE (ts)",
)


def _hour_sums() -> list[Column[object]]:
    return [Column("samples", Integer, nullable=False),
            Column("utilization_pct_sum", Double, nullable=False),
            Column("memory_mib_sum", Double, nullable=False),
            Column("memory_samples", Integer, nullable=False),
            Column("power_w_sum", Double, nullable=False),
            Column("power_samples", Integer, nullable=False),
            Column("last_ts", DateTime(timezone=True), nullable=False),
            Column("utilization_pct_p95", Real),
            Column("closed", Boolean, nullable=False, server_default="false")]


gpu_hour = Table(
    "gpu_hour", metadata,
    Column("gpu_id", Integer, primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("utilization_pct_max", Real, nullable=False),
    *_hour_sums(),
)

allocation_hour = Table(
    "allocation_hour", metadata,
    Column("allocation_id", UUID(as_uuid=True), primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("in_use_samples", Integer, nullable=False),
    *_hour_sums(),
)

# every step of every allocation's ladder, with the numbers that moved it
ladder_step = Table(
    "ladder_step", metadata,
    Column("step_id", BigInteger, Identity(), primary_key=True),
    Column("allocation_id", UUID(as_uuid=True), nullable=False),
    Column("step", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("rule", Text),
    Column("value", Double),
    Column("limit_value", Double),
    Column("planned_gpu_hours", Double),
    Column("utilization_pct", Double),
    Column("coverage", Double),
    Column("window_start", DateTime(timezone=True)),
    Column("window_end", DateTime(timezone=True)),
    Column("reason", Text, nullable=False, server_default=""),
    Index("ix_ladder_step_allocation_id", "allocation_id", "step_id"),
)

# a CSP's names for its hosts (the DCGM exporter's `Hostname`), where they are not the server's name; `csp` is the
# CSP's id as text (a mapping made under a CSP's name before migration 0006 is reached by no one: map it again)
csp_host = Table(
    "csp_host", metadata,
    Column("csp", Text, primary_key=True),
    Column("hostname", Text, primary_key=True),
    Column("server_name", Text, nullable=False),
)
