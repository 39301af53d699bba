"""A CSP client is linked to a CSP of the inventory by its id: the CSPs allocation has registered
(CspRegistered), and the clients made when a CSP was named by its name revoked, as no token is issued for them now.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
SCHEMA = "intake"
UUID_TEXT = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


def upgrade() -> None:
    op.create_table(
        "csp",
        sa.Column("csp_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("csp_id", name=op.f("pk_csp")),
        schema=SCHEMA,
        comment="The inventory's CSPs (allocation's CspRegistered): a csp client's subject is one of these ids",
    )
    op.alter_column("client", "subject", schema=SCHEMA, existing_type=sa.Text,
                    comment="partner id, reviewer id or CSP id; none for an operator")
    op.execute(sa.text(f"UPDATE {SCHEMA}.client SET revoked_at = now() "
                       "WHERE role = 'csp' AND revoked_at IS NULL AND subject !~ :uuid").bindparams(uuid=UUID_TEXT))


def downgrade() -> None:
    op.alter_column("client", "subject", schema=SCHEMA, existing_type=sa.Text,
                    comment="partner id, reviewer id or CSP name; none for an operator")
    op.drop_table("csp", schema=SCHEMA)
