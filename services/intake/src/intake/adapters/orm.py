"""Intake's tables, all in the `intake` schema."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from intake.adapters.idempotency import idempotency_table
from servicekit.auth import credential_tables
from servicekit.db import service_metadata
from servicekit.tables import messaging_tables

metadata = service_metadata("intake")
messaging = messaging_tables(metadata)
idempotency_key = idempotency_table(metadata)
credentials = credential_tables(metadata)

program = Table(
    "program", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("intake_mode", Text, nullable=False),
    CheckConstraint("intake_mode IN ('round', 'rolling')", name="intake_mode"),
)

call = Table(
    "call", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("program", Text, ForeignKey("intake.program.code"), nullable=False),
    Column("title", Text, nullable=False),
    Column("opens_at", DateTime(timezone=True), nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    CheckConstraint("closes_at > opens_at", name="window"),
    Index("ix_call_opens_at_id", "opens_at", "id"),
    Index("ix_call_due", "closes_at", postgresql_where=text("status = 'open'")),  # the worker closes these
)

application = Table(
    "application", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("partner_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, ForeignKey("intake.program.code"), nullable=False),
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
    Column("details", JSONB, nullable=False, server_default="{}"),
    Column("status", Text, nullable=False),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Index("ix_application_partner_created", "partner_id", "created_at", "id"),
    Index("ix_application_call_id", "call_id"),
    # an operator's list: every partner's, or by one filter (migration 0010)
    Index("ix_application_created", "created_at", "id"),
    Index("ix_application_status_created", "status", "created_at", "id"),
    Index("ix_application_region_created", "applicant_region", "created_at", "id"),
)
Index("ix_application_institution_created", func.lower(application.c.applicant_institution), application.c.created_at,
      application.c.id)

application_status = Table(
    "application_status", metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

offer = Table(
    "offer", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # allocation's offer id
    Column("application_id", UUID(as_uuid=True), ForeignKey("intake.application.id"), nullable=False),
    Column("gpu_model", Text, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("decline_reason", Text, nullable=False, server_default=""),
    CheckConstraint("state IN ('open', 'accepted', 'declined', 'expired')", name="state"),
    CheckConstraint("gpus > 0", name="gpus_positive"),
    CheckConstraint("ends_at > starts_at", name="period"),
    Index("ix_offer_application_made", "application_id", "made_at", "id"),
)

webhook = Table(
    "webhook", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("partner_id", UUID(as_uuid=True), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    # in clear, unlike client secrets: signing a delivery needs the secret itself, not a hash of it
    Column("secret", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
    Index("ix_webhook_partner_created", "partner_id", "created_at", "id"),
)

webhook_delivery = Table(
    "webhook_delivery", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # the delivery id (Webhook-Id), the same on every retry
    Column("webhook_id", UUID(as_uuid=True), ForeignKey("intake.webhook.id"), nullable=False),
    Column("event", Text, nullable=False),
    Column("application_id", UUID(as_uuid=True)),  # an application.status_changed's
    Column("application_status", Text),
    Column("reason", Text, nullable=False),
    Column("payload", JSONB),  # a document's notice: the summary its body carries
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("state IN ('pending', 'delivered', 'failed', 'cancelled')", name="state"),
    CheckConstraint("(event = 'application.status_changed' AND application_id IS NOT NULL AND application_status IS "
                    "NOT NULL) OR (event <> 'application.status_changed' AND payload IS NOT NULL)", name="subject"),
    Index("ix_webhook_delivery_webhook_created", "webhook_id", "created_at", "id"),
    Index("ix_webhook_delivery_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
)
