"""The outbox keeps each event's envelope in columns and its data as the JSON the relay sends
(`servicekit.migrations.outbox_data_as_json`).

Revision ID: 0009
Revises: 0008
"""
from alembic import op

from servicekit.migrations import outbox_data_as_json, outbox_data_as_jsonb

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
SCHEMA = "allocation"


def upgrade() -> None:
    outbox_data_as_json(op, SCHEMA)


def downgrade() -> None:
    outbox_data_as_jsonb(op, SCHEMA)
