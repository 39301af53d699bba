"""The dashboard's tables, all in the `dashboard` schema: its read model, rebuilt from the topics if need be."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, Table, Text
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
