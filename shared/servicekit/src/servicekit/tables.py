"""The outbox, inbox and worker heartbeat tables, the same in every service's schema."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Identity, Index, MetaData, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    worker_heartbeat: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox", metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("type", Text, nullable=False),
        # the event's time as JSON writes it (the `ce_time` header), and its data: `json`, not `jsonb`, so that the
        # compact text written is the text read, the record's body as it is (servicekit.outbox.outbox_row)
        Column("occurred_at", Text, nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        # the W3C trace context the event was created in (CloudEvents Distributed Tracing extension)
        Column("traceparent", Text),
        Column("tracestate", Text),
        Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )
    inbox = Table(
        "inbox", metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    # each worker process writes its row every few seconds; the API's readiness reads them (a worker that stopped
    # makes its service not ready)
    worker_heartbeat = Table(
        "worker_heartbeat", metadata,
        Column("worker_id", Text, primary_key=True),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("beat_at", DateTime(timezone=True), nullable=False),
        Column("working", Boolean, nullable=False),
        Column("state", JSONB, nullable=False),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, worker_heartbeat=worker_heartbeat)
