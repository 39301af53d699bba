"""The ledger and its documents replace the per-allocation account and invoice.

Billing learns applications (intake), youth (evaluation), grants and their ends (allocation), and the operators'
market prices (per CSP and GPU model, from a date) and open-source releases; what is owed is posted to an append-only
ledger (a trigger refuses UPDATE and DELETE of its lines), and monthly invoices and credit notes per payer link the
lines they cover. The tariff, account and invoice tables of 0001 are dropped: an account's invoice was the whole of
an allocation at one price, which the ledger cannot take over line by line.

The inbox is emptied too: the ledger is built from the events, and every handler is idempotent without it, so after
the upgrade the `billing` consumer group is reset to the earliest offsets (docs/billing.md, "Upgrading") and billing
reads the applications, scores and allocations it had read before into the new tables.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "billing"
TZ = sa.DateTime(timezone=True)


def _uuid(name: str, *args: object, **kw: object) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), *args, **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    for old in ("invoice", "account", "tariff"):
        op.drop_table(old, schema=SCHEMA)
    op.execute(f"DELETE FROM {SCHEMA}.inbox")
    _facts()
    _ledger()
    _documents()


def _facts() -> None:
    op.create_table("application", _uuid("application_id", primary_key=True),
                    _uuid("partner_id", nullable=False), sa.Column("program", sa.Text, nullable=False),
                    sa.Column("organisation", sa.Text, nullable=False),
                    sa.Column("business_registration_number", sa.Text),
                    sa.Column("participants", JSONB, nullable=False),
                    sa.Column("open_source_pledged", sa.Boolean, nullable=False), schema=SCHEMA)
    op.create_table("youth", _uuid("application_id", primary_key=True),
                    sa.Column("youth", sa.Boolean, nullable=False), schema=SCHEMA)
    op.create_table("release", _uuid("application_id", primary_key=True),
                    sa.Column("url", sa.Text, nullable=False), sa.Column("released_on", sa.Date, nullable=False),
                    _uuid("event_id", nullable=False), sa.Column("recorded_at", TZ, nullable=False),
                    sa.Column("recorded_by", sa.Text, nullable=False), schema=SCHEMA)
    op.create_table("grant", _uuid("allocation_id", primary_key=True), _uuid("application_id", nullable=False),
                    sa.Column("program", sa.Text, nullable=False), sa.Column("gpu_model", sa.Text, nullable=False),
                    sa.Column("gpus_by_csp", JSONB, nullable=False), sa.Column("starts_at", TZ, nullable=False),
                    sa.Column("ends_at", TZ, nullable=False), schema=SCHEMA)
    op.create_index("ix_grant_application_id", "grant", ["application_id"], schema=SCHEMA)
    op.create_index("ix_grant_gpu_model_ends_at", "grant", ["gpu_model", "ends_at"], schema=SCHEMA)
    op.create_table("grant_end", _uuid("allocation_id", primary_key=True),
                    sa.Column("ended_at", TZ, nullable=False), schema=SCHEMA)
    op.create_table("market_price", sa.Column("csp", sa.Text, primary_key=True),
                    sa.Column("gpu_model", sa.Text, primary_key=True),
                    sa.Column("effective_from", sa.Date, primary_key=True),
                    sa.Column("krw_per_gpu_hour", sa.Integer, nullable=False), _uuid("event_id", nullable=False),
                    sa.Column("set_at", TZ, nullable=False), sa.Column("set_by", sa.Text, nullable=False),
                    sa.CheckConstraint("krw_per_gpu_hour > 0", name="ck_market_price_krw_per_gpu_hour_positive"),
                    schema=SCHEMA)


def _ledger() -> None:
    op.create_table(
        "ledger_line",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _uuid("allocation_id", nullable=False), _uuid("application_id", nullable=False),
        _uuid("partner_id", nullable=False), sa.Column("program", sa.Text, nullable=False),
        sa.Column("payer_kind", sa.Text, nullable=False), sa.Column("payer_key", sa.Text, nullable=False),
        sa.Column("payer_name", sa.Text, nullable=False), sa.Column("csp", sa.Text, nullable=False),
        sa.Column("gpu_model", sa.Text, nullable=False), sa.Column("period_start", TZ, nullable=False),
        sa.Column("period_end", TZ, nullable=False), sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("krw_per_gpu_hour", sa.Integer, nullable=False),
        sa.Column("share_numerator", sa.BigInteger, nullable=False),
        sa.Column("share_denominator", sa.BigInteger, nullable=False),
        sa.Column("gpu_minutes", sa.BigInteger, nullable=False), sa.Column("amount_krw", sa.BigInteger, nullable=False),
        sa.Column("direction", sa.SmallInteger, nullable=False), _uuid("cause_event_id", nullable=False),
        sa.Column("cause_type", sa.Text, nullable=False), sa.Column("cause_at", TZ, nullable=False),
        sa.Column("posted_at", TZ, nullable=False),
        sa.CheckConstraint("direction IN (1, -1)", name="ck_ledger_line_direction_valid"),
        sa.CheckConstraint("(direction = 1 AND amount_krw >= 0) OR (direction = -1 AND amount_krw <= 0)",
                           name="ck_ledger_line_amount_matches_direction"),
        sa.CheckConstraint("share_denominator > 0", name="ck_ledger_line_share_denominator_positive"),
        schema=SCHEMA,
    )
    op.create_index("ix_ledger_line_allocation_id", "ledger_line", ["allocation_id"], schema=SCHEMA)
    op.create_index("ix_ledger_line_payer", "ledger_line", ["partner_id", "payer_key"], schema=SCHEMA)
    op.create_index("ix_ledger_line_period", "ledger_line", ["period_start"], schema=SCHEMA)
    op.execute(f"""
        CREATE FUNCTION {SCHEMA}.ledger_line_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the ledger is append-only: % of a ledger line refused', TG_OP;
        END $$""")
    op.execute(f"""
        CREATE TRIGGER ledger_line_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.ledger_line
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.ledger_line_append_only()""")


def _documents() -> None:
    op.create_table(
        "document",
        _uuid("id", primary_key=True), sa.Column("kind", sa.Text, nullable=False),
        sa.Column("number", sa.Text, unique=True), sa.Column("status", sa.Text, nullable=False),
        _uuid("partner_id", nullable=False), sa.Column("payer_kind", sa.Text, nullable=False),
        sa.Column("payer_key", sa.Text, nullable=False), sa.Column("payer_name", sa.Text, nullable=False),
        sa.Column("month", sa.Date, nullable=False), sa.Column("total_krw", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text), sa.Column("credits", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("drafted_at", TZ, nullable=False), sa.Column("issued_at", TZ), sa.Column("paid_at", TZ),
        sa.Column("payment_reference", sa.Text), sa.Column("voided_at", TZ), sa.Column("void_reason", sa.Text),
        sa.Column("changed_by", sa.Text),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="ck_document_kind_valid"),
        sa.CheckConstraint("status IN ('draft', 'issued', 'paid', 'void')", name="ck_document_status_valid"),
        sa.CheckConstraint("(status = 'draft') = (number IS NULL)", name="ck_document_numbered_once_issued"),
        sa.CheckConstraint("total_krw >= 0", name="ck_document_total_not_negative"),
        schema=SCHEMA,
    )
    op.create_index("ix_document_partner_month", "document", ["partner_id", "month"], schema=SCHEMA)
    op.create_index("ix_document_status", "document", ["status"], schema=SCHEMA)
    op.create_table(
        "document_line",
        _uuid("document_id", sa.ForeignKey(f"{SCHEMA}.document.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True), _uuid("application_id", nullable=False),
        _uuid("allocation_id", nullable=False), sa.Column("program", sa.Text, nullable=False),
        sa.Column("csp", sa.Text, nullable=False), sa.Column("gpu_model", sa.Text, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False), sa.Column("period_start", TZ, nullable=False),
        sa.Column("period_end", TZ, nullable=False), sa.Column("gpu_minutes", sa.BigInteger, nullable=False),
        sa.Column("krw_per_gpu_hour", sa.Integer, nullable=False),
        sa.Column("share_numerator", sa.BigInteger, nullable=False),
        sa.Column("share_denominator", sa.BigInteger, nullable=False),
        sa.Column("amount_krw", sa.BigInteger, nullable=False), sa.Column("busy_gpu_hours", sa.Numeric(18, 6)),
        schema=SCHEMA,
    )
    op.create_table(
        "document_ledger_line",
        _uuid("document_id", sa.ForeignKey(f"{SCHEMA}.document.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("ledger_line_id", sa.BigInteger, sa.ForeignKey(f"{SCHEMA}.ledger_line.id"), primary_key=True),
        schema=SCHEMA,
    )
    op.create_index("ix_document_ledger_line_line", "document_ledger_line", ["ledger_line_id"], schema=SCHEMA)
    op.create_table("document_counter", sa.Column("kind", sa.Text, primary_key=True),
                    sa.Column("year", sa.Integer, primary_key=True), sa.Column("last", sa.Integer, nullable=False),
                    schema=SCHEMA)


def downgrade() -> None:
    raise NotImplementedError("0004 dropped the per-allocation invoices; restore from a backup to go back")
