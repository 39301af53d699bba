"""The reads that scan: the events of a call (GET /events?call_id=), newest first, by an index of their own instead of
the whole event table; and the balance's GPUs allocated per application, read from the allocations' index alone
(their program and GPUs included in it).

Revision ID: 0004_event_call_index
Revises: 0003_views
"""
from alembic import op

revision = "0004_event_call_index"
down_revision = "0003_views"
branch_labels = None
depends_on = None
SCHEMA = "dashboard"


def upgrade() -> None:
    op.execute("CREATE INDEX ix_event_call_id ON dashboard.event (call_id, seq) WHERE call_id IS NOT NULL")
    op.drop_index("ix_allocation_application_id", "allocation", schema=SCHEMA)
    op.create_index("ix_allocation_application_id", "allocation", ["application_id"], schema=SCHEMA,
                    postgresql_include=["program", "gpus"])


def downgrade() -> None:
    op.drop_index("ix_allocation_application_id", "allocation", schema=SCHEMA)
    op.create_index("ix_allocation_application_id", "allocation", ["application_id"], schema=SCHEMA)
    op.drop_index("ix_event_call_id", "event", schema=SCHEMA)
