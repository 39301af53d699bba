"""Partners' webhooks and their deliveries: the outbox of signed status-change notifications.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    op.create_table(
        "webhook",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("partner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_webhook_partner_created", "webhook", ["partner_id", "created_at", "id"], schema=SCHEMA)
    op.create_table(
        "webhook_delivery",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("webhook_id", UUID(as_uuid=True),
                  sa.ForeignKey(f"{SCHEMA}.webhook.id", name="fk_webhook_delivery_webhook_id_webhook"),
                  nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("application_status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed', 'cancelled')",
                           name="ck_webhook_delivery_state"),
        schema=SCHEMA,
    )
    op.create_index("ix_webhook_delivery_webhook_created", "webhook_delivery", ["webhook_id", "created_at", "id"],
                    schema=SCHEMA)
    # the worker's claim: only pending deliveries, by when they are due
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["next_attempt_at"], schema=SCHEMA,
                    postgresql_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_due", "webhook_delivery", schema=SCHEMA)
    op.drop_index("ix_webhook_delivery_webhook_created", "webhook_delivery", schema=SCHEMA)
    op.drop_table("webhook_delivery", schema=SCHEMA)
    op.drop_index("ix_webhook_partner_created", "webhook", schema=SCHEMA)
    op.drop_table("webhook", schema=SCHEMA)
