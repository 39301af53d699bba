"""Partner credentials: the OAuth2 clients of the platform's token issuer.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from servicekit.auth import create_credential_tables, drop_credential_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "intake"


def upgrade() -> None:
    create_credential_tables(op, SCHEMA)


def downgrade() -> None:
    drop_credential_tables(op, SCHEMA)
