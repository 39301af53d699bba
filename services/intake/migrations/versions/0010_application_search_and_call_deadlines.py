"""Operators list every partner's applications, newest first, filtered by status, region or institution; the
worker finds the open calls whose window has ended.

The partner's own list keeps its (partner_id, created_at, id) index; an operator's list walks (created_at, id), or
the index of its filter. Program (three values, each a large share) and call (an existing index, few applications
each) need none of their own.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
SCHEMA = "intake"
APPLICATION_INDEXES: dict[str, list[str | sa.TextClause]] = {
    "ix_application_created": ["created_at", "id"],
    "ix_application_status_created": ["status", "created_at", "id"],
    "ix_application_region_created": ["applicant_region", "created_at", "id"],
    # the institution filter is an exact, case-insensitive match: lower() on both sides
    "ix_application_institution_created": [sa.text("lower(applicant_institution)"), "created_at", "id"],
}
CALL_DUE = "ix_call_due"


def upgrade() -> None:
    for name, columns in APPLICATION_INDEXES.items():
        op.create_index(op.f(name), "application", columns, schema=SCHEMA)
    op.create_index(op.f(CALL_DUE), "call", ["closes_at"], schema=SCHEMA, postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index(op.f(CALL_DUE), "call", schema=SCHEMA)
    for name in reversed(APPLICATION_INDEXES):
        op.drop_index(op.f(name), "application", schema=SCHEMA)
