"""Policy versions take effect at a stated time (`effective_at`), may be cancelled before it, and record who made
each change.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "evaluation"
TABLE = "policy_version"
LIVE_INDEX = "ux_policy_version_effective_at_live"
CANCELLED_CHECK = "ck_policy_version_cancelled"


def upgrade() -> None:
    op.alter_column(TABLE, "effective_from", new_column_name="effective_at", schema=SCHEMA)
    # a cancelled version must free its start time, so uniqueness now holds among live versions only
    op.drop_constraint(op.f("uq_policy_version_effective_from"), TABLE, schema=SCHEMA, type_="unique")
    # the versions stored so far came from the seed in migration 0002, not from a caller
    op.add_column(TABLE, sa.Column("created_by", sa.Text, nullable=False, server_default="seed"), schema=SCHEMA)
    op.add_column(TABLE, sa.Column("created_by_role", sa.Text, nullable=False, server_default="system"),
                  schema=SCHEMA)
    op.alter_column(TABLE, "created_by", server_default=None, schema=SCHEMA)
    op.alter_column(TABLE, "created_by_role", server_default=None, schema=SCHEMA)
    for name in ("cancelled_at", "cancelled_by", "cancelled_by_role"):
        kind = sa.DateTime(timezone=True) if name == "cancelled_at" else sa.Text
        op.add_column(TABLE, sa.Column(name, kind), schema=SCHEMA)
    op.create_index(LIVE_INDEX, TABLE, ["effective_at"], unique=True, schema=SCHEMA,
                    postgresql_where=sa.text("cancelled_at IS NULL"))
    op.create_check_constraint(op.f(CANCELLED_CHECK), TABLE, "(cancelled_at IS NULL) = (cancelled_by IS NULL) AND "
                                                       "(cancelled_at IS NULL) = (cancelled_by_role IS NULL)",
                               schema=SCHEMA)


def downgrade() -> None:
    # the old table cannot say "cancelled": cancelled versions never governed a decision, so they go
    op.execute(f"DELETE FROM {SCHEMA}.{TABLE} WHERE cancelled_at IS NOT NULL")
    op.drop_constraint(op.f(CANCELLED_CHECK), TABLE, schema=SCHEMA, type_="check")
    op.drop_index(LIVE_INDEX, TABLE, schema=SCHEMA)
    for name in ("cancelled_by_role", "cancelled_by", "cancelled_at", "created_by_role", "created_by"):
        op.drop_column(TABLE, name, schema=SCHEMA)
    op.alter_column(TABLE, "effective_at", new_column_name="effective_from", schema=SCHEMA)
    op.create_unique_constraint(op.f("uq_policy_version_effective_from"), TABLE, ["effective_from"], schema=SCHEMA)
