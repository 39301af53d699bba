"""The allocations' hourly rollups, the hours closing, each ladder's history, the raw partitions, and freshness."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from telemetry.adapters.orm import allocation, allocation_hour, allocation_slot, gpu, gpu_hour, ladder_step, sample
from telemetry.adapters.rollup_sql import COLUMNS, sums_of
from telemetry.domain.model import StepTaken
from telemetry.domain.rollups import ClosedHour, Freshness, HourUsage, UsageSums

# The allocations' open hours before `through`, closed with their 95th percentile from the raw samples of the GPUs
# they held within their period; rows another run holds are left to it.
CLOSE_ALLOCATION_HOURS = text(f"""
    WITH due AS (
        SELECT allocation_id, hour FROM {allocation_hour.fullname}
        WHERE NOT closed AND hour < :through ORDER BY hour, allocation_id LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), p AS (
        SELECT d.allocation_id, d.hour,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY s.utilization_pct) AS p95
        FROM due d
        JOIN {allocation.fullname} a USING (allocation_id)
        JOIN {allocation_slot.fullname} sl USING (allocation_id)
        JOIN {gpu.fullname} g ON g.server_name = sl.server_name AND g.gpu_index = sl.gpu_index
        JOIN {sample.fullname} s ON s.gpu_id = g.gpu_id AND s.ts >= d.hour AND s.ts < d.hour + interval '1 hour'
             AND s.ts >= a.starts_at AND s.ts < least(a.ends_at, coalesce(a.ended_at, a.ends_at))
        GROUP BY 1, 2
    )
    UPDATE {allocation_hour.fullname} h SET closed = true, utilization_pct_p95 = p.p95
    FROM due LEFT JOIN p USING (allocation_id, hour)
    WHERE h.allocation_id = due.allocation_id AND h.hour = due.hour
    RETURNING h.*
""")

CLOSE_GPU_HOURS = text(f"""
    WITH due AS (
        SELECT gpu_id, hour FROM {gpu_hour.fullname}
        WHERE NOT closed AND hour < :through ORDER BY hour, gpu_id LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), p AS (
        SELECT d.gpu_id, d.hour, percentile_cont(0.95) WITHIN GROUP (ORDER BY s.utilization_pct) AS p95
        FROM due d JOIN {sample.fullname} s
             ON s.gpu_id = d.gpu_id AND s.ts >= d.hour AND s.ts < d.hour + interval '1 hour'
        GROUP BY 1, 2
    )
    UPDATE {gpu_hour.fullname} h SET closed = true, utilization_pct_p95 = p.p95
    FROM due LEFT JOIN p USING (gpu_id, hour)
    WHERE h.gpu_id = due.gpu_id AND h.hour = due.hour
""")

# An allocation tracked after some of its samples arrived (its event late): the raw samples still kept, summed into
# its hours as if they had been attributed on arrival.
BACKFILL = text(f"""
    INSERT INTO {allocation_hour.fullname} (allocation_id, hour, in_use_samples, {COLUMNS})
    SELECT a.allocation_id, date_trunc('hour', s.ts, 'UTC'), count(*) FILTER (WHERE s.utilization_pct >= :in_use_pct),
           {sums_of("s.")}
    FROM {allocation.fullname} a
    JOIN {allocation_slot.fullname} sl USING (allocation_id)
    JOIN {gpu.fullname} g ON g.server_name = sl.server_name AND g.gpu_index = sl.gpu_index
    JOIN {sample.fullname} s ON s.gpu_id = g.gpu_id AND s.ts >= a.starts_at
         AND s.ts < least(a.ends_at, coalesce(a.ended_at, a.ends_at))
    WHERE a.allocation_id = :allocation_id
    GROUP BY 1, 2
    ON CONFLICT (allocation_id, hour) DO NOTHING
""")

NEWEST = text(f"""
    SELECT ids.allocation_id, newest.last_ts FROM unnest(CAST(:ids AS uuid[])) AS ids(allocation_id)
    CROSS JOIN LATERAL (SELECT h.last_ts FROM {allocation_hour.fullname} h
                        WHERE h.allocation_id = ids.allocation_id ORDER BY h.hour DESC LIMIT 1) newest
""")
# each span numbered by its place in the question, summed over the allocation's hours within it
SUMS = text(f"""
    SELECT q.n, coalesce(sum(h.samples), 0), coalesce(sum(h.utilization_pct_sum), 0),
           coalesce(sum(h.in_use_samples), 0), max(h.last_ts)
    FROM unnest(CAST(:ids AS uuid[]), CAST(:firsts AS timestamptz[]), CAST(:lasts AS timestamptz[]))
         WITH ORDINALITY AS q(allocation_id, first_hour, last_hour, n)
    LEFT JOIN {allocation_hour.fullname} h
         ON h.allocation_id = q.allocation_id AND h.hour >= q.first_hour AND h.hour <= q.last_hour
    GROUP BY q.n
""")

FRESHNESS = text(f"""
    SELECT g.server_name, count(*) AS gpus, max(newest.last_ts) AS last_sample_at
    FROM {gpu.fullname} g
    CROSS JOIN LATERAL (SELECT h.last_ts FROM {gpu_hour.fullname} h WHERE h.gpu_id = g.gpu_id
                        ORDER BY h.hour DESC LIMIT 1) newest
    WHERE g.csp = :csp_key
       OR g.server_name IN (SELECT server_name FROM {allocation_slot.fullname} WHERE csp_id = CAST(:csp_key AS uuid))
    GROUP BY g.server_name ORDER BY g.server_name
""")
PARTITION_PREFIX = "sample_p"
# one creator of partitions at a time (a constant key: the number is "telemetry partitions" in a few letters)
PARTITION_LOCK = 0x7E1E_9A27


def _usage(row: Any) -> HourUsage:
    return HourUsage(hour=row.hour, samples=row.samples, utilization_pct_sum=row.utilization_pct_sum,
                     memory_mib_sum=row.memory_mib_sum, memory_samples=row.memory_samples,
                     power_w_sum=row.power_w_sum, power_samples=row.power_samples, last_ts=row.last_ts,
                     utilization_pct_p95=row.utilization_pct_p95, closed=row.closed,
                     in_use_samples=getattr(row, "in_use_samples", 0))


class UsageRepository:
    """The allocations' hourly rollups."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def backfill(self, allocation_id: UUID, *, in_use_pct: float) -> None:
        await self._session.execute(BACKFILL, {"allocation_id": allocation_id, "in_use_pct": in_use_pct})

    async def newest(self, allocation_ids: Collection[UUID]) -> dict[UUID, datetime]:
        if not allocation_ids:
            return {}
        rows = await self._session.execute(NEWEST, {"ids": list(allocation_ids)})
        return {allocation_id: last_ts for allocation_id, last_ts in rows}

    async def sums(self, spans: Sequence[tuple[UUID, datetime, datetime]]) -> list[UsageSums]:
        if not spans:
            return []
        rows = await self._session.execute(SUMS, {"ids": [s[0] for s in spans], "firsts": [s[1] for s in spans],
                                                  "lasts": [s[2] for s in spans]})
        found = {n: UsageSums(int(samples), float(total), int(in_use), last_ts)
                 for n, samples, total, in_use, last_ts in rows}
        return [found[n] for n in range(1, len(spans) + 1)]

    async def hourly(self, allocation_id: UUID, start: datetime, end: datetime) -> list[HourUsage]:
        """The allocation's hours from `start` (included) to `end` (excluded), in order."""
        stmt = (select(allocation_hour).where(allocation_hour.c.allocation_id == allocation_id,
                                              allocation_hour.c.hour >= start, allocation_hour.c.hour < end)
                .order_by(allocation_hour.c.hour))
        return [_usage(row) for row in await self._session.execute(stmt)]

    async def close(self, through: datetime, *, limit: int) -> list[ClosedHour]:
        """Close at most `limit` open allocation hours (and as many GPU hours) that start before `through`."""
        params = {"through": through, "limit": limit}
        await self._session.execute(CLOSE_GPU_HOURS, params)
        rows = await self._session.execute(CLOSE_ALLOCATION_HOURS, params)
        return sorted((ClosedHour(row.allocation_id, _usage(row)) for row in rows),
                      key=lambda c: (c.usage.hour, c.allocation_id))

    async def freshness(self, csp_id: UUID) -> list[Freshness]:
        """The newest sample of each server the CSP (by id) first reported or an allocation tracked there names."""
        rows = await self._session.execute(FRESHNESS, {"csp_key": str(csp_id)})
        return [Freshness(row.server_name, int(row.gpus), row.last_sample_at) for row in rows]


class StepRepository:
    """Each allocation's ladder, every step with why."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, allocation_id: UUID, taken: StepTaken) -> None:
        f = taken.finding
        measured = f.measured if f else None
        await self._session.execute(ladder_step.insert().values(
            allocation_id=allocation_id, step=taken.step.value, at=taken.at,
            rule=f.rule.value if f else None, value=f.value if f else None, limit_value=f.limit if f else None,
            planned_gpu_hours=f.planned_gpu_hours if f else None,
            utilization_pct=measured.utilization_pct if measured else None,
            coverage=measured.coverage if measured else None,
            window_start=measured.start if measured else None, window_end=measured.end if measured else None,
            reason=taken.reason or (f.describe() if f else "")))

    async def of(self, allocation_id: UUID) -> list[dict[str, Any]]:
        stmt = (select(ladder_step).where(ladder_step.c.allocation_id == allocation_id)
                .order_by(ladder_step.c.step_id))
        return [dict(row._mapping) for row in await self._session.execute(stmt)]


def partition_name(day: date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class PartitionRepository:
    """The raw samples' daily partitions."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def existing(self) -> set[date]:
        rows = await self._session.scalars(text("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = :schema AND p.relname = :parent"""), {"schema": sample.schema, "parent": sample.name})
        return {datetime.strptime(name.removeprefix(PARTITION_PREFIX), "%Y%m%d").date() for name in rows}

    async def ensure(self, days: Collection[date]) -> list[date]:
        """Create the partitions of the days that have none; returns the days created."""
        if not days or not (set(days) - await self.existing()):
            return []
        await self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK})
        created = sorted(set(days) - await self.existing())
        for day in created:
            await self._session.execute(text(
                f"CREATE TABLE {sample.schema}.{partition_name(day)} PARTITION OF {sample.fullname} "
                f"FOR VALUES FROM ('{_midnight(day).isoformat()}') "
                f"TO ('{_midnight(day + timedelta(days=1)).isoformat()}')"))
        return created

    async def drop_before(self, day: date) -> list[date]:
        """Drop the partitions of the days before `day`; returns the days dropped."""
        await self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK})
        dropped = sorted(d for d in await self.existing() if d < day)
        for old in dropped:
            await self._session.execute(text(f"DROP TABLE {sample.schema}.{partition_name(old)}"))
        return dropped

    async def sizes(self) -> dict[str, int]:
        """Bytes on disk of the raw samples and each rollup, indexes included."""
        names = {"sample": sample, "gpu_hour": gpu_hour, "allocation_hour": allocation_hour}
        sizes = {}
        for key, table in names.items():
            sizes[key] = int(await self._session.scalar(text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "WHERE c.oid = CAST(:t AS regclass) OR c.oid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = CAST(:t AS regclass))"), {"t": table.fullname})
                or 0)
        return sizes

