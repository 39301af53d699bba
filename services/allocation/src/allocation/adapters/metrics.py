"""Allocation's domain metrics, read at scrape time from its own schema (docs/observability.md)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from allocation.adapters.orm import allocation
from allocation.domain.model import Status
from servicekit.metrics import Reading

PROGRAMS = ("P1", "P2", "P3")


async def gpus_and_reclaims(conn: AsyncConnection) -> list[Reading]:
    """`platform_allocation_gpus_allocated{program}`: GPUs held by active allocations; and
    `platform_allocation_reclaims_total`: allocations reclaimed, ever."""
    active = await conn.execute(select(allocation.c.program, func.coalesce(func.sum(allocation.c.gpus), 0))
                                .where(allocation.c.status == Status.ACTIVE.value).group_by(allocation.c.program))
    gpus = {str(program): int(n) for program, n in active}
    reclaimed = await conn.scalar(select(func.count()).select_from(allocation)
                                  .where(allocation.c.status == Status.RECLAIMED.value))
    readings = [Reading("allocation_gpus_allocated", "GPUs held by active allocations, by program",
                        gpus.get(p, 0), {"program": p}) for p in sorted({*PROGRAMS, *gpus})]
    return [*readings, Reading("allocation_reclaims", "Allocations reclaimed (their GPUs taken back)",
                               int(reclaimed or 0), kind="counter")]
