"""The workers' heartbeat, which the API's readiness reads: a worker that stopped makes the service not ready.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from servicekit.migrations import create_worker_heartbeat_table, drop_worker_heartbeat_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "billing"


def upgrade() -> None:
    create_worker_heartbeat_table(op, SCHEMA)


def downgrade() -> None:
    drop_worker_heartbeat_table(op, SCHEMA)
