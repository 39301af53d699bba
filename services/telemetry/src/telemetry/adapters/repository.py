"""Tracked allocations, their CSP samples and the per-GPU hourly rollups, in and out of the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Text, and_, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from telemetry.adapters.orm import allocation, allocation_hour, allocation_slot, gpu, gpu_hour, ladder_step, sample
from telemetry.adapters.rollup_sql import COLUMNS, added, sums_of
from telemetry.domain.model import Allocation, Ladder, Sample, Slot, Step, StoredBatch

# One statement for the whole batch, whatever its size: the rows travel as array literals (text, which costs the
# driver next to nothing), the first of a GPU and instant in the batch counts, a sample already stored is skipped,
# and the new ones are summed into their GPU's hour and, where an allocation held the GPU at their instant, into the
# allocation's hour — each in key order, so that concurrent batches wait on each other instead of deadlocking.
INSERT_NEW_SAMPLES = text(f"""
    WITH input AS (
        SELECT * FROM unnest(CAST(CAST(:gpu_ids AS text) AS integer[]), CAST(CAST(:ts AS text) AS timestamptz[]),
                             CAST(CAST(:utilization_pcts AS text) AS real[]),
                             CAST(CAST(:memory_mibs AS text) AS real[]),
                             CAST(CAST(:power_ws AS text) AS real[])) WITH ORDINALITY
                      AS t(gpu_id, ts, utilization_pct, memory_used_mib, power_w, n)
    ), firsts AS (
        SELECT DISTINCT ON (gpu_id, ts) gpu_id, ts, utilization_pct, memory_used_mib, power_w
        FROM input ORDER BY gpu_id, ts, n
    ), new AS (
        INSERT INTO {sample.fullname} (gpu_id, ts, utilization_pct, memory_used_mib, power_w)
        SELECT * FROM firsts ORDER BY gpu_id, ts
        ON CONFLICT DO NOTHING
        RETURNING gpu_id, ts, utilization_pct, memory_used_mib, power_w
    ), gpu_hours AS (
        INSERT INTO {gpu_hour.fullname} AS h (gpu_id, hour, utilization_pct_max, {COLUMNS})
        SELECT gpu_id, date_trunc('hour', ts, 'UTC'), max(utilization_pct), {sums_of()}
        FROM new GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (gpu_id, hour) DO UPDATE SET
            utilization_pct_max = greatest(h.utilization_pct_max, excluded.utilization_pct_max), {added()}
    ), held AS (
        SELECT sl.allocation_id, new.* FROM new
        JOIN {gpu.fullname} g ON g.gpu_id = new.gpu_id
        JOIN {allocation_slot.fullname} sl ON sl.server_name = g.server_name AND sl.gpu_index = g.gpu_index
        JOIN {allocation.fullname} a ON a.allocation_id = sl.allocation_id
        WHERE new.ts >= a.starts_at AND new.ts < least(a.ends_at, coalesce(a.ended_at, a.ends_at))
    ), allocation_hours AS (
        INSERT INTO {allocation_hour.fullname} AS h (allocation_id, hour, in_use_samples, {COLUMNS})
        SELECT allocation_id, date_trunc('hour', ts, 'UTC'), count(*) FILTER (WHERE utilization_pct >= :in_use_pct),
               {sums_of()}
        FROM held GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (allocation_id, hour) DO UPDATE SET {added("in_use_samples")}
    )
    SELECT (SELECT count(*) FROM new) AS stored,
           (SELECT count(*) FROM new WHERE NOT EXISTS (
               SELECT 1 FROM held WHERE held.gpu_id = new.gpu_id AND held.ts = new.ts)) AS unheld,
           ARRAY(SELECT DISTINCT allocation_id FROM held ORDER BY 1) AS allocation_ids
""")


def array_literal(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers (None is NULL), which the statement casts: far cheaper to send than the
    driver's binary arrays."""
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def instants_literal(values: Iterable[datetime]) -> str:
    return "{" + ",".join(f'"{v.isoformat()}"' for v in values) + "}"


ALLOCATION_COLUMNS = ("application_id", "program", "gpus", "starts_at", "ends_at", "planned_gpu_hours_per_month",
                      "warned_at", "ended_at", "waived_at", "stale_since")


# One statement, one round trip, for the allocation and all its GPUs: the slots travel as arrays, and are stored
# only if the allocation row is new (an allocation announced again is left as first stored, slots and all).
TRACK = text(f"""
    WITH tracked AS (
        INSERT INTO {allocation.fullname} (allocation_id, ladder, {", ".join(ALLOCATION_COLUMNS)})
        VALUES (:allocation_id, :ladder, {", ".join(f":{name}" for name in ALLOCATION_COLUMNS)})
        ON CONFLICT DO NOTHING
        RETURNING allocation_id
    ), slots AS (
        INSERT INTO {allocation_slot.fullname} (allocation_id, server_name, gpu_index, csp, gpu_uuid, csp_id)
        SELECT tracked.allocation_id, s.* FROM tracked
        CROSS JOIN unnest(CAST(:servers AS text[]), CAST(:indexes AS integer[]), CAST(:csps AS text[]),
                          CAST(:uuids AS text[]), CAST(:csp_ids AS uuid[])) AS s
    )
    SELECT count(*) FROM tracked
""")
SLOT_COLUMNS = ("server_name", "gpu_index", "csp", "gpu_uuid", "csp_id")


def _allocation(row: Any) -> Allocation:
    data = {column.name: row._mapping[column] for column in allocation.columns}
    return Allocation(id=data.pop("allocation_id"), ladder=Ladder(data.pop("ladder")), slots=[], **data)


class AllocationRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, tracked: Allocation) -> bool:
        """False when the allocation is already tracked (the same allocation announced twice)."""
        slots = list(dict.fromkeys(tracked.slots))
        added = await self._session.scalar(TRACK, {
            "allocation_id": tracked.id, "ladder": tracked.ladder.value,
            **{name: getattr(tracked, name) for name in ALLOCATION_COLUMNS},
            "servers": [s.server_name for s in slots], "indexes": [s.gpu_index for s in slots],
            "csps": [s.csp for s in slots], "uuids": [s.gpu_uuid for s in slots],
            "csp_ids": [s.csp_id for s in slots]})
        return bool(added)

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = await self._load(allocation.c.allocation_id == allocation_id, for_update=for_update)
        return found[0] if found else None

    async def many(self, allocation_ids: Collection[UUID], *, for_update: bool = False) -> list[Allocation]:
        """The allocations of the ids, in id order (locked in that order)."""
        if not allocation_ids:
            return []
        return await self._load(allocation.c.allocation_id.in_(sorted(allocation_ids)), for_update=for_update)

    async def owners(self, servers: Collection[str]) -> dict[str, set[UUID]]:
        """The CSPs (by id) each of the servers is tracked under; a slot recorded without its CSP's id (before
        events carried it) names none."""
        if not servers:
            return {}
        stmt = (select(allocation_slot.c.server_name, allocation_slot.c.csp_id).distinct()
                .where(allocation_slot.c.server_name == any_(bindparam("servers", sorted(servers),
                                                                       type_=ARRAY(Text))),
                       allocation_slot.c.csp_id.is_not(None)))
        found: dict[str, set[UUID]] = defaultdict(set)
        for server_name, csp_id in await self._session.execute(stmt):
            found[server_name].add(csp_id)
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
        """The allocations `where` says, with their slots, in one query: a row per slot (the allocation's columns
        repeated), in allocation id order, each allocation's slots by server and GPU; locked (the allocations only,
        in id order) if asked."""
        stmt = (select(allocation, *(allocation_slot.c[name].label(f"slot_{name}") for name in SLOT_COLUMNS))
                .select_from(allocation.outerjoin(
                    allocation_slot, allocation_slot.c.allocation_id == allocation.c.allocation_id))
                .where(where)
                .order_by(allocation.c.allocation_id, allocation_slot.c.server_name, allocation_slot.c.gpu_index))
        found: dict[UUID, Allocation] = {}
        for row in await self._session.execute(stmt.with_for_update(of=allocation) if for_update else stmt):
            if (tracked := found.get(row.allocation_id)) is None:
                tracked = found[row.allocation_id] = _allocation(row)
            if row.slot_server_name is not None:  # an allocation without a slot: the outer join's one empty row
                tracked.slots.append(Slot(row.slot_server_name, row.slot_gpu_index, row.slot_csp, row.slot_gpu_uuid,
                                          row.slot_csp_id))
        return list(found.values())


class SampleRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add_new(self, samples: Sequence[Sample], *, csp_id: UUID, in_use_pct: float) -> StoredBatch:
        """Store the CSP's samples, the first of a GPU and instant where the batch repeats one; add the new ones to
        their GPU's hourly rollup and to the hour of the allocation that held the GPU at their instant."""
        if not samples:
            return StoredBatch(0, 0, ())
        ids = await self._ids_of({(s.server_name, s.gpu_index) for s in samples}, str(csp_id))
        row = (await self._session.execute(INSERT_NEW_SAMPLES, {
            "gpu_ids": array_literal(ids[s.server_name, s.gpu_index] for s in samples),
            "ts": instants_literal(s.ts for s in samples),
            "utilization_pcts": array_literal(s.utilization_pct for s in samples),
            "memory_mibs": array_literal(s.memory_used_mib for s in samples),
            "power_ws": array_literal(s.power_w for s in samples), "in_use_pct": in_use_pct})).one()
        return StoredBatch(new=int(row.stored), unheld=int(row.unheld), allocation_ids=tuple(row.allocation_ids))

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
