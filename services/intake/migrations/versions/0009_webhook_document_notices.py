"""Webhook deliveries may tell a partner of a billing document (an invoice or a credit note issued), not only of an
application's status: such a delivery has no application or status, and its `payload` is the document's summary.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
SCHEMA = "intake"
CHECK = "ck_webhook_delivery_subject"


def upgrade() -> None:
    op.add_column("webhook_delivery", sa.Column("payload", JSONB), schema=SCHEMA)
    op.alter_column("webhook_delivery", "application_id", nullable=True, schema=SCHEMA)
    op.alter_column("webhook_delivery", "application_status", nullable=True, schema=SCHEMA)
    op.create_check_constraint(
        op.f(CHECK), "webhook_delivery",
        "(event = 'application.status_changed' AND application_id IS NOT NULL AND application_status IS NOT NULL) "
        "OR (event <> 'application.status_changed' AND payload IS NOT NULL)", schema=SCHEMA)


def downgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.webhook_delivery WHERE event <> 'application.status_changed'")
    op.drop_constraint(op.f(CHECK), "webhook_delivery", schema=SCHEMA)
    op.alter_column("webhook_delivery", "application_status", nullable=False, schema=SCHEMA)
    op.alter_column("webhook_delivery", "application_id", nullable=False, schema=SCHEMA)
    op.drop_column("webhook_delivery", "payload", schema=SCHEMA)
