"""Availability windows per server, rounds and their decisions, offers of freed capacity, excluded applications.

Every existing server gets an unbounded window in its pool, so nothing that was placeable stops being placeable.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSTZRANGE, UUID, ExcludeConstraint

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "allocation"
STATUSES = "('active', 'reclaimed', 'released', 'offered', 'lapsed')"


def upgrade() -> None:
    _windows()
    _allocation_changes()
    _waiting_changes()
    _rounds()
    _offers()


def downgrade() -> None:
    for table in ("offer", "round_decision", "round", "excluded_application", "server_window"):
        op.drop_table(table, schema=SCHEMA)
    for column in ("call_id", "rank", "track", "institution", "planned_gpu_hours_per_month", "min_days",
                   "offer_id"):
        op.drop_column("waitlist", column, schema=SCHEMA)
    op.drop_column("round_candidate", "planned_gpu_hours_per_month", schema=SCHEMA)
    op.drop_column("allocation", "waived_at", schema=SCHEMA)
    op.drop_constraint(op.f("ck_allocation_status_known"), "allocation", type_="check", schema=SCHEMA)
    op.create_check_constraint("status_known", "allocation", "status IN ('active', 'reclaimed', 'released')",
                               schema=SCHEMA)


def _windows() -> None:
    op.create_table(
        "server_window",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("server_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.server.id"), nullable=False),
        sa.Column("pool", sa.Text, nullable=False),
        sa.Column("during", TSTZRANGE, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("pool IN ('P1', 'P2', 'P3')", name="window_pool_known"),
        sa.CheckConstraint("NOT isempty(during)", name="window_not_empty"),
        # a server serves one pool at a time
        ExcludeConstraint(("server_id", "="), ("during", "&&"), using="gist", name="ex_server_window_overlap"),
        schema=SCHEMA,
    )
    op.execute(f"INSERT INTO {SCHEMA}.server_window (id, server_id, pool, during, note) "
               f"SELECT gen_random_uuid(), id, pool, tstzrange(NULL, NULL), 'registered' FROM {SCHEMA}.server")


def _allocation_changes() -> None:
    op.add_column("allocation", sa.Column("waived_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.drop_constraint(op.f("ck_allocation_status_known"), "allocation", type_="check", schema=SCHEMA)
    op.create_check_constraint("status_known", "allocation", f"status IN {STATUSES}", schema=SCHEMA)


def _waiting_changes() -> None:
    for column in (sa.Column("call_id", UUID(as_uuid=True)), sa.Column("rank", sa.Integer),
                   sa.Column("track", sa.Text, nullable=False, server_default="general"),
                   sa.Column("institution", sa.Text, nullable=False, server_default=""),
                   sa.Column("planned_gpu_hours_per_month", sa.Integer, nullable=False, server_default="1"),
                   sa.Column("min_days", sa.Integer),
                   sa.Column("offer_id", UUID(as_uuid=True))):
        op.add_column("waitlist", column, schema=SCHEMA)
    op.create_index("ix_waitlist_line", "waitlist", ["program", "gpu_model", "score"], schema=SCHEMA)
    op.add_column("round_candidate", sa.Column("planned_gpu_hours_per_month", sa.Integer, nullable=False,
                                               server_default="1"), schema=SCHEMA)
    op.create_index("ix_round_candidate_call", "round_candidate", ["call_id"], schema=SCHEMA)
    op.create_table(
        "excluded_application",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def _rounds() -> None:
    op.create_table(
        "round",
        sa.Column("call_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("expected", sa.ARRAY(UUID(as_uuid=True)), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selected_at", sa.DateTime(timezone=True)),
        sa.Column("method", sa.Text),
        sa.Column("objective", sa.Float),
        sa.Column("capacity", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("reserve_gpus", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reserve_gpus_used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("solve_seconds", sa.Float),
        sa.CheckConstraint("status IN ('pending', 'selected')", name="round_status_known"),
        schema=SCHEMA,
    )
    op.create_table(
        "round_decision",
        sa.Column("call_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.round.call_id"), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("selected", sa.Boolean, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("allocation_id", UUID(as_uuid=True)),
        sa.PrimaryKeyConstraint("call_id", "application_id"),
        schema=SCHEMA,
    )


def _offers() -> None:
    op.create_table(
        "offer",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("allocation_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.allocation.id"), nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("freed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("planned_gpu_hours_per_month", sa.Integer, nullable=False),
        sa.CheckConstraint("state IN ('awaiting_recheck', 'open', 'accepted', 'declined', 'expired', "
                           "'ineligible', 'withdrawn')", name="offer_state_known"),
        schema=SCHEMA,
    )
    op.create_index("ix_offer_application", "offer", ["application_id"], schema=SCHEMA)
    op.create_index("ix_offer_open_expiry", "offer", ["expires_at"], schema=SCHEMA,
                    postgresql_where=sa.text("state = 'open'"))
