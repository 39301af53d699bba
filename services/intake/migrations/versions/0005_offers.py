"""Offers of freed capacity to waitlisted applications, and the partners' answers.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "offer",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", UUID(as_uuid=True),
                  sa.ForeignKey(f"{SCHEMA}.application.id", name="fk_offer_application_id_application"),
                  nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("decline_reason", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("state IN ('open', 'accepted', 'declined', 'expired')", name="ck_offer_state"),
        sa.CheckConstraint("gpus > 0", name="ck_offer_gpus_positive"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_offer_period"),
        schema=SCHEMA,
    )
    # an application's latest offer
    op.create_index("ix_offer_application_made", "offer", ["application_id", "made_at", "id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_offer_application_made", "offer", schema=SCHEMA)
    op.drop_table("offer", schema=SCHEMA)
