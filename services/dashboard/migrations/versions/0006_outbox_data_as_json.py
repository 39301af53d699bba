"""The outbox keeps each event's envelope in columns and its data as the JSON the relay sends
(`servicekit.migrations.outbox_data_as_json`).

Revision ID: 0006_outbox_data_as_json
Revises: 0005_event_application_ids
"""
from alembic import op

from servicekit.migrations import outbox_data_as_json, outbox_data_as_jsonb

revision = "0006_outbox_data_as_json"
down_revision = "0005_event_application_ids"
branch_labels = None
depends_on = None
SCHEMA = "dashboard"


def upgrade() -> None:
    outbox_data_as_json(op, SCHEMA)


def downgrade() -> None:
    outbox_data_as_jsonb(op, SCHEMA)
