"""Policy versions (seeded with 2026.1), the application form's facts, reviewers, panels, reviews and rounds.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from evaluation.config import Settings

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "evaluation"


def _form_columns() -> list[sa.Column]:
    """The application form's facts that arrived with issue 3 (ApplicationSubmitted's new optional fields)."""
    return [
        sa.Column("applicant_name", sa.Text, nullable=False, server_default=""),
        sa.Column("purpose", sa.Text, nullable=False, server_default=""),
        sa.Column("company", JSONB),
        sa.Column("researcher", JSONB),
        sa.Column("servers_requested", sa.Integer),
        sa.Column("corporate_participants", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("open_source", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("training_data_scale", sa.Text),
        sa.Column("earliest_start", sa.Date),
        sa.Column("acceptable_window_months", sa.Integer),
    ]


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    policy = op.create_table(
        "policy_version",
        sa.Column("version", sa.Text, primary_key=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False, unique=True),
        sa.Column("rules", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    seed = Settings().seed_policy  # PROGRAM_RULES.md's defaults unless the environment overrides them
    op.bulk_insert(policy, [{"version": seed.version, "effective_from": seed.effective_from,
                             "rules": seed.policy().rules()}])
    for column in _form_columns():
        op.add_column("evaluation", column, schema=SCHEMA)
    # P1/P2 applications that waited for the panel feature now wait for reviewers, and get them on registration
    op.execute(f"UPDATE {SCHEMA}.evaluation SET status = 'awaiting_reviewers' WHERE status = 'awaiting_review'")
    op.create_index("ix_evaluation_call_id", "evaluation", ["call_id"], schema=SCHEMA)
    op.create_index("ix_evaluation_status_submitted_at", "evaluation", ["status", "submitted_at"], schema=SCHEMA)
    _create_panel_tables()
    op.create_table(
        "round",
        sa.Column("call_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program", sa.Text, nullable=False),
        _timestamp("opens_at"), _timestamp("closes_at"),
        sa.Column("application_ids", JSONB, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        _timestamp("closed_at"), _timestamp("scored_at", nullable=True),
        schema=SCHEMA,
    )


def _panel_keys() -> list[sa.Column]:
    return [sa.Column("application_id", UUID(as_uuid=True),
                      sa.ForeignKey(f"{SCHEMA}.evaluation.application_id"), nullable=False),
            sa.Column("reviewer_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.reviewer.id"), nullable=False),
            sa.PrimaryKeyConstraint("application_id", "reviewer_id")]


def _create_panel_tables() -> None:
    op.create_table(
        "reviewer",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("institution", sa.Text, nullable=False),
        sa.Column("expertise", JSONB, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "review_assignment", *_panel_keys(),
        _timestamp("assigned_at"), sa.Column("scores", JSONB), _timestamp("reviewed_at", nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_review_assignment_reviewer_id", "review_assignment", ["reviewer_id"], schema=SCHEMA)
    op.create_table(
        "review_exclusion", *_panel_keys(),
        sa.Column("reason", sa.Text, nullable=False), _timestamp("excluded_at"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("round", "review_exclusion", "review_assignment", "reviewer"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("ix_evaluation_status_submitted_at", "evaluation", schema=SCHEMA)
    op.drop_index("ix_evaluation_call_id", "evaluation", schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.evaluation SET status = 'awaiting_review' "
               f"WHERE status IN ('awaiting_reviewers', 'in_review')")
    for column in reversed(_form_columns()):
        op.drop_column("evaluation", column.name, schema=SCHEMA)
    op.drop_table("policy_version", schema=SCHEMA)
