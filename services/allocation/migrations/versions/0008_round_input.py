"""A round's input is kept at its selection, for the policy what-if: the rules, the GPUs free per model and every
candidate with what its score was made of. Candidates carry their region class, sector, bonus points per fact and
rubric criterion means (evaluation publishes them on the scored event); rows from before stay NULL / empty.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
SCHEMA = "allocation"


def upgrade() -> None:
    op.add_column("round_candidate", sa.Column("region_class", sa.Text), schema=SCHEMA)
    op.add_column("round_candidate", sa.Column("sector", sa.Text), schema=SCHEMA)
    for column in ("bonuses", "rubric_means"):
        op.add_column("round_candidate", sa.Column(column, JSONB, nullable=False, server_default="{}"),
                      schema=SCHEMA)
    op.create_check_constraint(op.f("ck_round_candidate_region_class_known"), "round_candidate",
                               "region_class IN ('capital', 'non_capital')", schema=SCHEMA)
    op.create_table(
        "round_input",
        sa.Column("call_id", UUID(as_uuid=True), nullable=False),
        sa.Column("rules", JSONB, nullable=False),
        sa.Column("capacity", JSONB, nullable=False),
        sa.Column("candidates", JSONB, nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_round_input")),
        sa.ForeignKeyConstraint(["call_id"], [f"{SCHEMA}.round.call_id"],
                                name=op.f("fk_round_input_call_id_round")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("round_input", schema=SCHEMA)
    op.drop_constraint(op.f("ck_round_candidate_region_class_known"), "round_candidate", type_="check",
                       schema=SCHEMA)
    for column in ("rubric_means", "bonuses", "sector", "region_class"):
        op.drop_column("round_candidate", column, schema=SCHEMA)
