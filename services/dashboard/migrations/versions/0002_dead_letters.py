"""The platform's dead letters: each record a consumer parked on a `<topic>.dlq` topic, with why, where it came from
and whether an operator has re-driven it.

Revision ID: 0002_dead_letters
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_dead_letters"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "dashboard"


def upgrade() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("dlq_topic", sa.Text, nullable=False),
        sa.Column("dlq_partition", sa.Integer, nullable=False),
        sa.Column("dlq_offset", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("source_topic", sa.Text),
        sa.Column("source_partition", sa.Integer),
        sa.Column("source_offset", sa.BigInteger),
        sa.Column("consumer", sa.Text),
        sa.Column("handler", sa.Text),
        sa.Column("attempts", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("event_type", sa.Text),
        sa.Column("event_id", sa.Text),
        sa.Column("key", sa.Text),
        sa.Column("value_excerpt", sa.Text),
        sa.Column("value_bytes", sa.Integer),
        sa.Column("headers", JSONB, nullable=False, server_default="{}"),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redriven_at", sa.DateTime(timezone=True)),
        sa.Column("redriven_by", sa.Text),
        sa.PrimaryKeyConstraint("dlq_topic", "dlq_partition", "dlq_offset", name="pk_dead_letter"),
        sa.UniqueConstraint("seq", name="uq_dead_letter_seq"),
        schema=SCHEMA,
    )
    op.create_index("ix_dead_letter_parked_at", "dead_letter", ["parked_at", "seq"], schema=SCHEMA)
    op.create_index("ix_dead_letter_consumer", "dead_letter", ["consumer", "parked_at", "seq"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("dead_letter", schema=SCHEMA)
