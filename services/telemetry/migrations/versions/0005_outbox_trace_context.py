"""The outbox records the trace context each event was created in, which the relay sends on with it.

The W3C `traceparent` and `tracestate` of the span that wrote the row (the HTTP request's, or the handler's of the
event consumed), sent as the CloudEvents Distributed Tracing extension (`ce_traceparent`, `ce_tracestate`).

It also gives the workers' heartbeat table its `working` column where it is still named `ready` (the name the
table had before; a database made since has it right).

Revision ID: 0005
Revises: 0004
"""
from alembic import op

from servicekit.migrations import add_outbox_trace_columns, drop_outbox_trace_columns, heartbeat_working_column

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
SCHEMA = "telemetry"


def upgrade() -> None:
    add_outbox_trace_columns(op, SCHEMA)
    heartbeat_working_column(op, SCHEMA)  # named `ready` in schemas made before the heartbeat said `working`


def downgrade() -> None:
    drop_outbox_trace_columns(op, SCHEMA)
