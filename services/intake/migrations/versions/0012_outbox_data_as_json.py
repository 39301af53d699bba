"""The outbox keeps each event's envelope in columns and its data as the JSON the relay sends.

`occurred_at` (the `ce_time` header) joins `event_id` and `type`, and `payload` becomes `json` holding the event's
data alone: PostgreSQL keeps a `json` value's text as written, so the relay sends the compact JSON the service wrote
without parsing and writing it again (servicekit.outbox.outbox_row, servicekit.relay).

Revision ID: 0012
Revises: 0011
"""
from alembic import op

from servicekit.migrations import outbox_data_as_json, outbox_data_as_jsonb

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    outbox_data_as_json(op, SCHEMA)


def downgrade() -> None:
    outbox_data_as_jsonb(op, SCHEMA)
