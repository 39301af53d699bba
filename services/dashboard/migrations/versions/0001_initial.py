"""The dashboard's first tables: every event read, each application's place in the funnel, the outbox and inbox,
and the workers' heartbeat.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from servicekit.migrations import (
    create_messaging_tables,
    create_worker_heartbeat_table,
    drop_messaging_tables,
    drop_worker_heartbeat_table,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "dashboard"


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True)),
        sa.Column("program", sa.Text),
        sa.Column("call_id", UUID(as_uuid=True)),
        sa.Column("csps", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("payload", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_event"),
        sa.UniqueConstraint("event_id", name="uq_event_event_id"),
        schema=SCHEMA,
    )
    op.create_index("ix_event_application_id", "event", ["application_id", "seq"], schema=SCHEMA)
    op.create_index("ix_event_type", "event", ["type", "seq"], schema=SCHEMA)
    op.create_table(
        "application",
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("program", sa.Text),
        sa.Column("call_id", UUID(as_uuid=True)),
        sa.Column("gpus", sa.Integer, nullable=False, server_default="0"),
        sa.Column("csps", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("application_id", name="pk_application"),
        schema=SCHEMA,
    )
    op.create_index("ix_application_program_call", "application", ["program", "call_id"], schema=SCHEMA)
    create_messaging_tables(op, SCHEMA)
    create_worker_heartbeat_table(op, SCHEMA)


def downgrade() -> None:
    drop_worker_heartbeat_table(op, SCHEMA)
    drop_messaging_tables(op, SCHEMA)
    op.drop_table("application", schema=SCHEMA)
    op.drop_table("event", schema=SCHEMA)
