"""Tracked allocations and CSP samples in and out of the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Text, and_, any_, bindparam, func, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from telemetry.adapters.orm import allocation, allocation_slot, sample
from telemetry.domain.model import Allocation, Ladder, Sample, Slot, Window

# One statement for the whole batch, whatever its size: the rows travel as four arrays, and a sample already
# stored is skipped.
INSERT_NEW_SAMPLES = text(f"""
    INSERT INTO {sample.fullname} (server_name, gpu_index, ts, utilization_pct)
    SELECT * FROM unnest(CAST(:server_names AS text[]), CAST(:gpu_indexes AS integer[]),
                         CAST(:ts AS timestamptz[]), CAST(:utilization_pcts AS double precision[]))
    ON CONFLICT DO NOTHING
    RETURNING server_name, gpu_index, ts, utilization_pct
""")


def _allocation(row: Any, slots: list[Slot]) -> Allocation:
    data = dict(row._mapping)
    return Allocation(id=data.pop("allocation_id"), ladder=Ladder(data.pop("ladder")), slots=slots, **data)


class AllocationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, tracked: Allocation) -> bool:
        """False when the allocation is already tracked (the same allocation announced twice)."""
        row = {"allocation_id": tracked.id, "application_id": tracked.application_id,
               "program": tracked.program, "gpus": tracked.gpus, "starts_at": tracked.starts_at,
               "ends_at": tracked.ends_at, "planned_gpu_hours_per_month": tracked.planned_gpu_hours_per_month,
               "ladder": tracked.ladder.value, "warned_at": tracked.warned_at, "ended_at": tracked.ended_at}
        stmt = insert(allocation).values(row).on_conflict_do_nothing().returning(allocation.c.allocation_id)
        if (await self._session.execute(stmt)).first() is None:
            return False
        slots = [{"allocation_id": tracked.id, "server_name": s.server_name, "gpu_index": s.gpu_index,
                  "csp": s.csp} for s in dict.fromkeys(tracked.slots)]
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
            .values(ladder=tracked.ladder.value, warned_at=tracked.warned_at, ended_at=tracked.ended_at))

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
            slots[s.allocation_id].append(Slot(s.server_name, s.gpu_index, s.csp))
        return [_allocation(r, slots[r.allocation_id]) for r in rows]


class SampleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_new(self, samples: Iterable[Sample]) -> list[Sample]:
        """Store the samples; returns those that were not stored already."""
        # inserted in key order, so that two batches sharing samples wait on each other instead of deadlocking;
        # sorted here because a sort in SQL compares by collation and spills to disk on large batches
        batch = sorted(samples, key=lambda s: (s.server_name, s.gpu_index, s.ts))
        if not batch:
            return []
        rows = await self._session.execute(INSERT_NEW_SAMPLES, {
            "server_names": [s.server_name for s in batch], "gpu_indexes": [s.gpu_index for s in batch],
            "ts": [s.ts for s in batch], "utilization_pcts": [s.utilization_pct for s in batch]})
        return [Sample(*row) for row in rows]  # RETURNING lists the fields in Sample's order

    async def window(self, tracked: Allocation, *, days: int) -> Window | None:
        """The trailing `days` ending at the allocation's newest sample; None before its first sample."""
        end = await self._newest(tracked)
        if end is None:
            return None
        start = end - timedelta(days=days)
        stmt = (select(func.avg(sample.c.utilization_pct), func.count())
                .select_from(sample.join(allocation_slot, _on_slot()))
                .where(allocation_slot.c.allocation_id == tracked.id,
                       sample.c.ts > start, sample.c.ts <= end,
                       sample.c.ts >= tracked.starts_at, sample.c.ts < tracked.until))
        mean, count = (await self._session.execute(stmt)).one()
        return Window.ending_at(end, days, float(mean or 0.0), int(count))

    async def _newest(self, tracked: Allocation) -> datetime | None:
        # the newest per GPU is one backward step on the primary key; over the whole allocation it would scan
        per_slot = (select(func.max(sample.c.ts).label("ts")).where(
            _on_slot(), sample.c.ts >= tracked.starts_at, sample.c.ts < tracked.until).lateral())
        stmt = (select(func.max(per_slot.c.ts)).select_from(allocation_slot.join(per_slot, true()))
                .where(allocation_slot.c.allocation_id == tracked.id))
        newest = await self._session.scalar(stmt)
        return newest.astimezone(UTC) if newest else None


def _on_slot() -> Any:
    return and_(sample.c.server_name == allocation_slot.c.server_name,
                sample.c.gpu_index == allocation_slot.c.gpu_index)
