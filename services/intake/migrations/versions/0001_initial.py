"""Intake's first tables: applications, their status history, the outbox and inbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from servicekit.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("partner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("call_id", UUID(as_uuid=True)),
        sa.Column("applicant_name", sa.Text, nullable=False),
        sa.Column("applicant_sector", sa.Text, nullable=False),
        sa.Column("applicant_institution", sa.Text, nullable=False),
        sa.Column("applicant_region", sa.Text, nullable=False),
        sa.Column("gpus_requested", sa.Integer, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("planned_gpu_hours_per_month", sa.Integer, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_application_partner_submitted", "application", ["partner_id", "submitted_at"],
                    schema=SCHEMA)
    op.create_table(
        "application_status",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("application_status", schema=SCHEMA)
    op.drop_table("application", schema=SCHEMA)
