"""The views' tables: each application's profile (submission, score, offer), each allocation with the CSPs hosting
it and its reclaim, each round with its early-career reserve, every step of the reclaim ladder, and the latest
telemetry alert of each allocation per CSP.

Revision ID: 0003_views
Revises: 0002_dead_letters
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0003_views"
down_revision = "0002_dead_letters"
branch_labels = None
depends_on = None
SCHEMA = "dashboard"


def upgrade() -> None:
    op.create_table(
        "application_profile",
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text),
        sa.Column("call_id", UUID(as_uuid=True)),
        sa.Column("institution", sa.Text),
        sa.Column("sector", sa.Text),
        sa.Column("company_size", sa.Text),
        sa.Column("capital", sa.Boolean),
        sa.Column("gpu_model", sa.Text),
        sa.Column("gpus_requested", sa.Integer),
        sa.Column("period_start", sa.Date),
        sa.Column("period_end", sa.Date),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("scored_at", sa.DateTime(timezone=True)),
        sa.Column("track", sa.Text),
        sa.Column("facts", ARRAY(sa.Text)),
        sa.Column("offered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("application_id", name="pk_application_profile"),
        schema=SCHEMA,
    )
    op.create_index("ix_application_profile_program_call", "application_profile", ["program", "call_id"],
                    schema=SCHEMA)
    op.create_table(
        "allocation",
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text),
        sa.Column("gpu_model", sa.Text),
        sa.Column("gpus", sa.Integer),
        sa.Column("starts_at", sa.DateTime(timezone=True)),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("reclaimed_at", sa.DateTime(timezone=True)),
        sa.Column("reclaim_reason", sa.Text),
        sa.PrimaryKeyConstraint("allocation_id", name="pk_allocation"),
        schema=SCHEMA,
    )
    op.create_index("ix_allocation_application_id", "allocation", ["application_id"], schema=SCHEMA)
    op.create_index("ix_allocation_period", "allocation", ["starts_at", "ends_at"], schema=SCHEMA)
    op.create_table(
        "allocation_csp",
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("csp", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("allocation_id", "csp", name="pk_allocation_csp"),
        schema=SCHEMA,
    )
    op.create_table(
        "round_result",
        sa.Column("call_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("selected", sa.Integer, nullable=False),
        sa.Column("waitlisted", sa.Integer, nullable=False),
        sa.Column("gpus_awarded", sa.Integer, nullable=False),
        sa.Column("reserve_gpus", sa.Integer, nullable=False),
        sa.Column("reserve_gpus_used", sa.Integer, nullable=False),
        sa.Column("selected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_round_result"),
        schema=SCHEMA,
    )
    op.create_table(
        "ladder_step",
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("utilization_pct", sa.Float),
        sa.Column("threshold_pct", sa.Float),
        sa.Column("actual_gpu_hours", sa.Float),
        sa.Column("planned_gpu_hours", sa.Float),
        sa.Column("required_gpu_hours", sa.Float),
        sa.PrimaryKeyConstraint("event_id", name="pk_ladder_step"),
        schema=SCHEMA,
    )
    op.create_index("ix_ladder_step_allocation_id", "ladder_step", ["allocation_id", "at"], schema=SCHEMA)
    op.create_table(
        "stale_alert",
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("csp", sa.Text, nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("last_sample_at", sa.DateTime(timezone=True)),
        sa.Column("coverage", sa.Float),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("allocation_id", "csp", name="pk_stale_alert"),
        schema=SCHEMA,
    )
    op.create_index("ix_stale_alert_csp", "stale_alert", ["csp", "detected_at"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("stale_alert", "ladder_step", "round_result", "allocation_csp", "allocation",
                  "application_profile"):
        op.drop_table(table, schema=SCHEMA)
