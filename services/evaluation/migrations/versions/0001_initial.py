"""Evaluation's first tables: one evaluation per application, the outbox and inbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from servicekit.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "evaluation"


def upgrade() -> None:
    op.create_table(
        "evaluation",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("call_id", UUID(as_uuid=True)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("score", sa.Numeric(5, 2)),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("explanation", JSONB, nullable=False),
        sa.Column("failed_rules", JSONB, nullable=False),
        sa.Column("applicant_sector", sa.Text, nullable=False),
        sa.Column("applicant_institution", sa.Text, nullable=False),
        sa.Column("applicant_region", sa.Text, nullable=False),
        sa.Column("gpus_requested", sa.Integer, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("planned_gpu_hours_per_month", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_evaluation_evaluated_at", "evaluation", ["evaluated_at"], schema=SCHEMA)
    op.create_index("ix_evaluation_program_status_evaluated_at", "evaluation",
                    ["program", "status", "evaluated_at"], schema=SCHEMA)
    create_messaging_tables(op, SCHEMA)


def downgrade() -> None:
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("evaluation", schema=SCHEMA)
