"""An application's story includes billing's documents that name it among their `application_ids` (an invoice or a
credit note covers several applications, so the event's own `application_id` stays empty): an index on that list.

Revision ID: 0005_event_application_ids
Revises: 0004_event_call_index
"""
from alembic import op

revision = "0005_event_application_ids"
down_revision = "0004_event_call_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_event_application_ids ON dashboard.event USING gin ((payload -> 'application_ids')) "
               "WHERE payload ? 'application_ids'")


def downgrade() -> None:
    op.execute("DROP INDEX dashboard.ix_event_application_ids")
