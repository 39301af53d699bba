"""Raw samples partitioned by day, with memory and power; hourly rollups per GPU and per allocation; the ladder's
history; waivers, telemetry staleness and GPU UUIDs on the tracked allocations.

The samples stored so far move into the new table (their partitions created for them) and are summed into the
rollups.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
SCHEMA = "telemetry"


def _hour_sums() -> list[sa.Column]:
    return [sa.Column("samples", sa.Integer, nullable=False),
            sa.Column("utilization_pct_sum", sa.Double, nullable=False),
            sa.Column("memory_mib_sum", sa.Double, nullable=False),
            sa.Column("memory_samples", sa.Integer, nullable=False),
            sa.Column("power_w_sum", sa.Double, nullable=False),
            sa.Column("power_samples", sa.Integer, nullable=False),
            sa.Column("last_ts", sa.DateTime(timezone=True), nullable=False),
            sa.Column("utilization_pct_p95", sa.REAL),
            sa.Column("closed", sa.Boolean, nullable=False, server_default="false")]


def upgrade() -> None:
    op.add_column("allocation", sa.Column("waived_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("allocation", sa.Column("stale_since", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("allocation_slot", sa.Column("gpu_uuid", sa.Text), schema=SCHEMA)
    op.create_index("ix_allocation_slot_gpu_uuid", "allocation_slot", ["gpu_uuid"], schema=SCHEMA)
    op.create_table(
        "gpu",
        sa.Column("gpu_id", sa.Integer, sa.Identity(), nullable=False),
        sa.Column("server_name", sa.Text, nullable=False),
        sa.Column("gpu_index", sa.Integer, nullable=False),
        sa.Column("csp", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("gpu_id", name="pk_gpu"),
        sa.UniqueConstraint("server_name", "gpu_index", name="uq_gpu_server_name_gpu_index"),
        schema=SCHEMA,
    )
    op.rename_table("sample", "sample_before_0004", schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.sample_before_0004 RENAME CONSTRAINT pk_sample TO pk_sample_before_0004")
    op.execute(f"""
        CREATE TABLE {SCHEMA}.sample (
            gpu_id integer NOT NULL,
            ts timestamptz NOT NULL,
            utilization_pct real NOT NULL,
            memory_used_mib real,
            power_w real,
            CONSTRAINT pk_sample PRIMARY KEY (gpu_id, ts)
        ) PARTITION BY RANGE (ts)""")
    op.create_table(
        "gpu_hour",
        sa.Column("gpu_id", sa.Integer, nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("utilization_pct_max", sa.REAL, nullable=False),
        *_hour_sums(),
        sa.PrimaryKeyConstraint("gpu_id", "hour", name="pk_gpu_hour"),
        schema=SCHEMA,
    )
    op.create_table(
        "allocation_hour",
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_use_samples", sa.Integer, nullable=False),
        *_hour_sums(),
        sa.PrimaryKeyConstraint("allocation_id", "hour", name="pk_allocation_hour"),
        schema=SCHEMA,
    )
    # the closing job looks for the hours still open
    op.execute(f"CREATE INDEX ix_allocation_hour_open ON {SCHEMA}.allocation_hour (hour) WHERE NOT closed")
    op.execute(f"CREATE INDEX ix_gpu_hour_open ON {SCHEMA}.gpu_hour (hour) WHERE NOT closed")
    op.create_table(
        "ladder_step",
        sa.Column("step_id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("allocation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("value", sa.Double),
        sa.Column("limit_value", sa.Double),
        sa.Column("planned_gpu_hours", sa.Double),
        sa.Column("utilization_pct", sa.Double),
        sa.Column("coverage", sa.Double),
        sa.Column("window_start", sa.DateTime(timezone=True)),
        sa.Column("window_end", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("step_id", name="pk_ladder_step"),
        schema=SCHEMA,
    )
    op.create_index("ix_ladder_step_allocation_id", "ladder_step", ["allocation_id", "step_id"], schema=SCHEMA)
    _move_samples()
    op.drop_table("sample_before_0004", schema=SCHEMA)


def _move_samples() -> None:
    op.execute(f"""
        INSERT INTO {SCHEMA}.gpu (server_name, gpu_index)
        SELECT DISTINCT server_name, gpu_index FROM {SCHEMA}.sample_before_0004 ORDER BY 1, 2""")
    op.execute(f"""
        DO $$
        DECLARE day date;
        BEGIN
            FOR day IN SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date FROM {SCHEMA}.sample_before_0004 LOOP
                EXECUTE format('CREATE TABLE {SCHEMA}.%I PARTITION OF {SCHEMA}.sample FOR VALUES FROM (%L) TO (%L)',
                               'sample_p' || to_char(day, 'YYYYMMDD'), day::timestamp AT TIME ZONE 'UTC',
                               (day + 1)::timestamp AT TIME ZONE 'UTC');
            END LOOP;
        END $$""")
    op.execute(f"""
        INSERT INTO {SCHEMA}.sample (gpu_id, ts, utilization_pct)
        SELECT g.gpu_id, s.ts, s.utilization_pct FROM {SCHEMA}.sample_before_0004 s
        JOIN {SCHEMA}.gpu g USING (server_name, gpu_index)""")
    op.execute(f"""
        INSERT INTO {SCHEMA}.gpu_hour (gpu_id, hour, utilization_pct_max, samples, utilization_pct_sum,
                                       memory_mib_sum, memory_samples, power_w_sum, power_samples, last_ts)
        SELECT gpu_id, date_trunc('hour', ts, 'UTC'), max(utilization_pct), count(*), sum(utilization_pct),
               0, 0, 0, 0, max(ts)
        FROM {SCHEMA}.sample GROUP BY 1, 2""")
    op.execute(f"""
        INSERT INTO {SCHEMA}.allocation_hour (allocation_id, hour, in_use_samples, samples, utilization_pct_sum,
                                              memory_mib_sum, memory_samples, power_w_sum, power_samples, last_ts)
        SELECT a.allocation_id, date_trunc('hour', s.ts, 'UTC'), count(*) FILTER (WHERE s.utilization_pct >= 5),
               count(*), sum(s.utilization_pct), 0, 0, 0, 0, max(s.ts)
        FROM {SCHEMA}.allocation a
        JOIN {SCHEMA}.allocation_slot sl USING (allocation_id)
        JOIN {SCHEMA}.gpu g USING (server_name, gpu_index)
        JOIN {SCHEMA}.sample s ON s.gpu_id = g.gpu_id AND s.ts >= a.starts_at
             AND s.ts < least(a.ends_at, coalesce(a.ended_at, a.ends_at))
        GROUP BY 1, 2""")


def downgrade() -> None:
    op.drop_index("ix_ladder_step_allocation_id", "ladder_step", schema=SCHEMA)
    op.drop_table("ladder_step", schema=SCHEMA)
    op.drop_table("allocation_hour", schema=SCHEMA)
    op.drop_table("gpu_hour", schema=SCHEMA)
    op.execute(f"""
        CREATE TABLE {SCHEMA}.sample_before_0004 AS
        SELECT g.server_name, g.gpu_index, s.ts, s.utilization_pct::double precision AS utilization_pct
        FROM {SCHEMA}.sample s JOIN {SCHEMA}.gpu g USING (gpu_id)""")
    op.execute(f"DROP TABLE {SCHEMA}.sample")
    op.rename_table("sample_before_0004", "sample", schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.sample ALTER COLUMN server_name SET NOT NULL, "
               "ALTER COLUMN gpu_index SET NOT NULL, ALTER COLUMN ts SET NOT NULL, "
               "ALTER COLUMN utilization_pct SET NOT NULL, "
               "ADD CONSTRAINT pk_sample PRIMARY KEY (server_name, gpu_index, ts)")
    op.drop_table("gpu", schema=SCHEMA)
    op.drop_index("ix_allocation_slot_gpu_uuid", "allocation_slot", schema=SCHEMA)
    op.drop_column("allocation_slot", "gpu_uuid", schema=SCHEMA)
    op.drop_column("allocation", "stale_since", schema=SCHEMA)
    op.drop_column("allocation", "waived_at", schema=SCHEMA)
