"""Programs and calls, the program-specific parts of the forms, drafts, and idempotency keys.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "intake"

PROGRAMS = [
    {"code": "P1", "name": "High-performance computing support (SMEs and startups)", "intake_mode": "round"},
    {"code": "P2", "name": "AI research computing support (academia and research institutes)",
     "intake_mode": "round"},
    {"code": "P3", "name": "Government-owned GPUs, rolling intake", "intake_mode": "rolling"},
]


def upgrade() -> None:
    _programs_and_calls()
    _drafts_and_forms()
    _idempotency_keys()


def _programs_and_calls() -> None:
    program = op.create_table(
        "program",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("intake_mode", sa.Text, nullable=False),
        sa.CheckConstraint("intake_mode IN ('round', 'rolling')", name="ck_program_intake_mode"),
        schema=SCHEMA,
    )
    op.bulk_insert(program, PROGRAMS)
    op.create_table(
        "call",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program", sa.Text, sa.ForeignKey(f"{SCHEMA}.program.code", name="fk_call_program_program"),
                  nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("closes_at > opens_at", name="ck_call_window"),
        schema=SCHEMA,
    )
    op.create_index("ix_call_opens_at_id", "call", ["opens_at", "id"], schema=SCHEMA)


def _drafts_and_forms() -> None:
    # drafts: created_at orders every application; submitted_at stays empty until it is submitted
    op.add_column("application", sa.Column("created_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.application SET created_at = submitted_at")
    op.alter_column("application", "created_at", nullable=False, schema=SCHEMA)
    op.alter_column("application", "submitted_at", nullable=True, schema=SCHEMA)
    op.add_column("application", sa.Column("details", JSONB, nullable=False, server_default="{}"), schema=SCHEMA)
    op.create_foreign_key("fk_application_program_program", "application", "program", ["program"], ["code"],
                          source_schema=SCHEMA, referent_schema=SCHEMA)
    op.drop_index("ix_application_partner_submitted", "application", schema=SCHEMA)
    op.create_index("ix_application_partner_created", "application", ["partner_id", "created_at", "id"],
                    schema=SCHEMA)
    op.create_index("ix_application_call_id", "application", ["call_id"], schema=SCHEMA)


def _idempotency_keys() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("principal", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("response_media_type", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_created_at", "idempotency_key", schema=SCHEMA)
    op.drop_table("idempotency_key", schema=SCHEMA)
    op.drop_index("ix_application_call_id", "application", schema=SCHEMA)
    op.drop_index("ix_application_partner_created", "application", schema=SCHEMA)
    # drafts cannot go back: 0001 knows only submitted applications
    op.execute(f"DELETE FROM {SCHEMA}.application_status WHERE application_id IN "
               f"(SELECT id FROM {SCHEMA}.application WHERE submitted_at IS NULL)")
    op.execute(f"DELETE FROM {SCHEMA}.application WHERE submitted_at IS NULL")
    op.create_index("ix_application_partner_submitted", "application", ["partner_id", "submitted_at"],
                    schema=SCHEMA)
    op.drop_constraint("fk_application_program_program", "application", schema=SCHEMA, type_="foreignkey")
    op.drop_column("application", "details", schema=SCHEMA)
    op.alter_column("application", "submitted_at", nullable=False, schema=SCHEMA)
    op.drop_column("application", "created_at", schema=SCHEMA)
    op.drop_index("ix_call_opens_at_id", "call", schema=SCHEMA)
    op.drop_table("call", schema=SCHEMA)
    op.drop_table("program", schema=SCHEMA)
