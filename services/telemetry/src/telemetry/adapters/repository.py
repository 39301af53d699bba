"""Tracked allocations, their CSP samples and the per-GPU hourly rollups, in and out of the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Text, and_, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from telemetry.adapters.orm import allocation, allocation_hour, allocation_slot, gpu, gpu_hour, ladder_step, sample
from telemetry.domain.model import Allocation, Ladder, Sample, Slot, Step

# One statement for the whole batch, whatever its size: the rows travel as arrays, a sample already stored is
# skipped, and the new ones are summed into their GPU's hour (in key order, so concurrent batches do not deadlock).
INSERT_NEW_SAMPLES = text(f"""
    WITH new AS (
        INSERT INTO {sample.fullname} (gpu_id, ts, utilization_pct, memory_used_mib, power_w)
        SELECT * FROM unnest(CAST(:gpu_ids AS integer[]), CAST(:ts AS timestamptz[]),
                             CAST(:utilization_pcts AS real[]), CAST(:memory_mibs AS real[]),
                             CAST(:power_ws AS real[]))
        ON CONFLICT DO NOTHING
        RETURNING gpu_id, ts, utilization_pct, memory_used_mib, power_w
    ), hours AS (
        INSERT INTO {gpu_hour.fullname} AS h (gpu_id, hour, utilization_pct_max, samples, utilization_pct_sum,
                                              memory_mib_sum, memory_samples, power_w_sum, power_samples, last_ts)
        SELECT gpu_id, date_trunc('hour', ts, 'UTC'), max(utilization_pct), count(*), sum(utilization_pct),
               coalesce(sum(memory_used_mib), 0), count(memory_used_mib), coalesce(sum(power_w), 0), count(power_w),
               max(ts)
        FROM new GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (gpu_id, hour) DO UPDATE SET
            utilization_pct_max = greatest(h.utilization_pct_max, excluded.utilization_pct_max),
            samples = h.samples + excluded.samples,
            utilization_pct_sum = h.utilization_pct_sum + excluded.utilization_pct_sum,
            memory_mib_sum = h.memory_mib_sum + excluded.memory_mib_sum,
            memory_samples = h.memory_samples + excluded.memory_samples,
            power_w_sum = h.power_w_sum + excluded.power_w_sum,
            power_samples = h.power_samples + excluded.power_samples,
            last_ts = greatest(h.last_ts, excluded.last_ts)
    )
    SELECT gpu_id, ts FROM new
""")
ALLOCATION_COLUMNS = ("application_id", "program", "gpus", "starts_at", "ends_at", "planned_gpu_hours_per_month",
                      "warned_at", "ended_at", "waived_at", "stale_since")


def _allocation(row: Any, slots: list[Slot]) -> Allocation:
    data = dict(row._mapping)
    return Allocation(id=data.pop("allocation_id"), ladder=Ladder(data.pop("ladder")), slots=slots, **data)


class AllocationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, tracked: Allocation) -> bool:
        """False when the allocation is already tracked (the same allocation announced twice)."""
        row = {"allocation_id": tracked.id, "ladder": tracked.ladder.value,
               **{name: getattr(tracked, name) for name in ALLOCATION_COLUMNS}}
        stmt = insert(allocation).values(row).on_conflict_do_nothing().returning(allocation.c.allocation_id)
        if (await self._session.execute(stmt)).first() is None:
            return False
        slots = [{"allocation_id": tracked.id, "server_name": s.server_name, "gpu_index": s.gpu_index,
                  "csp": s.csp, "gpu_uuid": s.gpu_uuid} for s in dict.fromkeys(tracked.slots)]
        await self._session.execute(allocation_slot.insert(), slots)
        return True

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = await self._load(allocation.c.allocation_id == allocation_id, for_update=for_update)
        return found[0] if found else None

    async def holding(self, samples: Sequence[Sample], *, for_update: bool = False) -> list[Allocation]:
        """The allocations that held any of the samples' GPUs during the samples' span, in id order."""
        if not samples:
            return []
        servers = sorted({s.server_name for s in samples})
        earliest, latest = min(s.ts for s in samples), max(s.ts for s in samples)
        on_servers = select(allocation_slot.c.allocation_id).where(
            allocation_slot.c.server_name == any_(bindparam("servers", servers, type_=ARRAY(Text))))
        until = func.least(allocation.c.ends_at, func.coalesce(allocation.c.ended_at, allocation.c.ends_at))
        overlapping = and_(allocation.c.allocation_id.in_(on_servers),
                           allocation.c.starts_at <= latest, until > earliest)
        return await self._load(overlapping, for_update=for_update)

    async def owners(self, servers: Collection[str]) -> dict[str, set[str]]:
        """The CSPs each of the servers is tracked under; a slot recorded without its CSP names none."""
        if not servers:
            return {}
        stmt = (select(allocation_slot.c.server_name, allocation_slot.c.csp).distinct()
                .where(allocation_slot.c.server_name == any_(bindparam("servers", sorted(servers),
                                                                       type_=ARRAY(Text))),
                       allocation_slot.c.csp != ""))
        found: dict[str, set[str]] = defaultdict(set)
        for server_name, csp in await self._session.execute(stmt):
            found[server_name].add(csp)
        return dict(found)

    async def save(self, tracked: Allocation) -> None:
        await self._session.execute(
            allocation.update().where(allocation.c.allocation_id == tracked.id)
            .values(ladder=tracked.ladder.value, warned_at=tracked.warned_at, ended_at=tracked.ended_at,
                    waived_at=tracked.waived_at, stale_since=tracked.stale_since))

    async def silent(self, *, quiet_since: datetime, now: datetime, programs: Collection[str]) -> list[Allocation]:
        """The allocations under way at `now`, of the programs, on the ladder, not known stale, whose newest sample
        (or start, before any) is older than `quiet_since`; locked, those another transaction holds skipped."""
        newest = (select(func.max(allocation_hour.c.last_ts))
                  .where(allocation_hour.c.allocation_id == allocation.c.allocation_id).scalar_subquery())
        until = func.least(allocation.c.ends_at, func.coalesce(allocation.c.ended_at, allocation.c.ends_at))
        stmt = (select(allocation.c.allocation_id).where(
            allocation.c.ended_at.is_(None), allocation.c.stale_since.is_(None),
            allocation.c.ladder != Ladder.RECLAIM_REQUESTED.value,
            allocation.c.program == any_(bindparam("programs", sorted(programs), type_=ARRAY(Text))),
            allocation.c.starts_at <= quiet_since, until > now,
            func.coalesce(newest, allocation.c.starts_at) < quiet_since)
            .order_by(allocation.c.allocation_id).with_for_update(skip_locked=True))
        ids = list(await self._session.scalars(stmt))
        return await self._load(allocation.c.allocation_id.in_(ids), for_update=False) if ids else []

    async def stale(self) -> list[tuple[Allocation, str]]:
        """The allocations under way flagged stale, each with the reason of its latest telemetry alert."""
        reason = (select(ladder_step.c.reason).where(ladder_step.c.allocation_id == allocation.c.allocation_id,
                                                     ladder_step.c.step == Step.STALE.value)
                  .order_by(ladder_step.c.step_id.desc()).limit(1).scalar_subquery())
        rows = (await self._session.execute(
            select(allocation.c.allocation_id, reason).where(allocation.c.stale_since.is_not(None),
                                                             allocation.c.ended_at.is_(None)))).all()
        reasons = {row[0]: row[1] or "" for row in rows}
        found = await self._load(allocation.c.allocation_id.in_(list(reasons)), for_update=False) if reasons else []
        return [(a, reasons[a.id]) for a in found]

    async def by_uuid(self, uuids: Collection[str]) -> dict[str, tuple[str, int]]:
        """GPU UUID → (server, GPU index), for those of the UUIDs a tracked allocation's slot carries."""
        if not uuids:
            return {}
        stmt = (select(allocation_slot.c.gpu_uuid, allocation_slot.c.server_name, allocation_slot.c.gpu_index)
                .distinct().where(allocation_slot.c.gpu_uuid == any_(bindparam("uuids", sorted(uuids),
                                                                                 type_=ARRAY(Text)))))
        return {uuid: (server, index) for uuid, server, index in await self._session.execute(stmt)}

    async def _load(self, where: Any, *, for_update: bool) -> list[Allocation]:
        stmt = select(allocation).where(where).order_by(allocation.c.allocation_id)
        rows = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).all()
        if not rows:
            return []
        slots: dict[UUID, list[Slot]] = defaultdict(list)
        ids = [r.allocation_id for r in rows]
        slot_rows = await self._session.execute(
            select(allocation_slot).where(allocation_slot.c.allocation_id.in_(ids))
            .order_by(allocation_slot.c.server_name, allocation_slot.c.gpu_index))
        for s in slot_rows:
            slots[s.allocation_id].append(Slot(s.server_name, s.gpu_index, s.csp, s.gpu_uuid))
        return [_allocation(r, slots[r.allocation_id]) for r in rows]


class SampleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_new(self, samples: Iterable[Sample], *, csp: str) -> list[Sample]:
        """Store the CSP's samples and add them to their GPU's hourly rollup; returns those that were not stored
        already."""
        batch = list(samples)
        if not batch:
            return []
        ids = await self._ids_of({(s.server_name, s.gpu_index) for s in batch}, csp)
        # one sample per GPU and instant, the first of the batch (as a sample stored before wins over a later one);
        # inserted in key order, so that two batches sharing samples wait on each other instead of deadlocking
        by_key: dict[tuple[int, datetime], Sample] = {}
        for s in batch:
            by_key.setdefault((ids[s.server_name, s.gpu_index], s.ts), s)
        keyed = sorted(by_key.items(), key=lambda item: item[0])
        rows = await self._session.execute(INSERT_NEW_SAMPLES, {
            "gpu_ids": [key[0] for key, _ in keyed], "ts": [key[1] for key, _ in keyed],
            "utilization_pcts": [s.utilization_pct for _, s in keyed],
            "memory_mibs": [s.memory_used_mib for _, s in keyed], "power_ws": [s.power_w for _, s in keyed]})
        return [by_key[gpu_id, ts] for gpu_id, ts in rows]

    async def _ids_of(self, gpus: Collection[tuple[str, int]], csp: str) -> dict[tuple[str, int], int]:
        """Each GPU's number, numbering those never seen before."""
        ids = await self._known(gpus)
        if missing := sorted(set(gpus) - ids.keys()):
            await self._session.execute(text(f"""
                INSERT INTO {gpu.fullname} (server_name, gpu_index, csp)
                SELECT *, CAST(:csp AS text) FROM unnest(CAST(:servers AS text[]), CAST(:indexes AS integer[]))
                ON CONFLICT DO NOTHING"""),
                {"servers": [g[0] for g in missing], "indexes": [g[1] for g in missing], "csp": csp})
            ids.update(await self._known(missing))
        return ids

    async def _known(self, gpus: Collection[tuple[str, int]]) -> dict[tuple[str, int], int]:
        found = await self._session.execute(text(f"""
            SELECT g.gpu_id, g.server_name, g.gpu_index FROM {gpu.fullname} g
            JOIN unnest(CAST(:servers AS text[]), CAST(:indexes AS integer[])) AS m(server_name, gpu_index)
            USING (server_name, gpu_index)"""), {"servers": [g[0] for g in gpus], "indexes": [g[1] for g in gpus]})
        return {(server, index): gpu_id for gpu_id, server, index in found}


def _on_gpu() -> Any:
    return and_(gpu.c.server_name == allocation_slot.c.server_name, gpu.c.gpu_index == allocation_slot.c.gpu_index)
