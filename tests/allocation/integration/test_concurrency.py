"""Two allocation workers (two runtimes, two connection pools) placing into the same pool at the same time."""
from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from allocation import demo
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.bootstrap import bootstrap
from allocation.domain.commands import AllocateGpus, SeedInventory, WithdrawApplication
from servicekit.bus import MessageBus
from servicekit.retry import is_transient
from servicekit.runtime import Runtime
from support.stack import Stack

REQUESTS_PER_WORKER = 25


@pytest.fixture
async def workers(stack: Stack) -> AsyncIterator[list[Runtime[SqlAllocationUnitOfWork]]]:
    found = [bootstrap(stack.settings("allocation")) for _ in range(2)]
    await found[0].bus.handle(SeedInventory(csps=demo.CSPS, servers=demo.P3_SERVERS))
    yield found
    for runtime in found:
        await runtime.aclose()


def requests(seed: int) -> list[AllocateGpus]:
    """Overlapping periods of 1-3 months in December-April, 1-12 GPUs each: far more than the pool's 32 GPUs."""
    rng = random.Random(seed)
    made = []
    for _ in range(REQUESTS_PER_WORKER):
        start = date(2026, 12, 1) + timedelta(days=rng.randrange(0, 90))
        made.append(AllocateGpus(application_id=uuid.uuid4(), program="P3", score=rng.uniform(50, 95),
                                 gpus=rng.randint(1, 12), gpu_model="H100", period_start=start,
                                 period_end=start + timedelta(days=rng.randrange(30, 90)),
                                 planned_gpu_hours_per_month=1000))
    return made


async def work(bus: MessageBus, commands: list[object]) -> int:
    """Handle each command the way the consumer does: a transient fault (the exclusion constraint refusing a GPU
    that the other worker just took) is retried. Returns how many retries there were."""
    retries = 0
    for cmd in commands:
        while True:
            try:
                await bus.handle(cmd)
                break
            except Exception as exc:
                assert is_transient(exc), exc
                retries += 1
    return retries


async def test_two_workers_racing_for_one_pool_never_allocate_a_gpu_twice(
        stack: Stack, workers: list[Runtime[SqlAllocationUnitOfWork]]) -> None:
    streams: list[list[object]] = [list(requests(seed)) for seed in (1, 2)]
    placed_first = [c for c in streams[0][:5] if isinstance(c, AllocateGpus)]
    streams[1] += [WithdrawApplication(c.application_id, datetime.combine(c.period_start, time(), UTC))
                   for c in placed_first]  # each frees capacity and starts re-offers while the other worker places
    await asyncio.gather(*(work(w.bus, s) for w, s in zip(workers, streams, strict=True)))

    overlaps = await stack.fetch(
        "SELECT count(*) AS n FROM allocation.allocation_gpu a JOIN allocation.allocation_gpu b"
        " ON a.server_id = b.server_id AND a.gpu_index = b.gpu_index AND a.allocation_id < b.allocation_id"
        " AND a.during && b.during")
    assert overlaps[0]["n"] == 0
    outcomes = await stack.fetch(
        "SELECT application_id FROM allocation.allocation WHERE status <> 'offered' UNION ALL"
        " SELECT application_id FROM allocation.waitlist UNION ALL"
        " SELECT application_id FROM allocation.excluded_application WHERE reason = 'withdrawn'"
        " AND application_id NOT IN (SELECT application_id FROM allocation.allocation)"
        " AND application_id NOT IN (SELECT application_id FROM allocation.waitlist)")
    ids = [r["application_id"] for r in outcomes]
    assert len(ids) == len(set(ids)) == 2 * REQUESTS_PER_WORKER  # every request placed, held or waiting, once
    busiest = await stack.fetch(
        "SELECT max(n) AS n FROM (SELECT count(*) AS n FROM allocation.allocation_gpu g,"
        " generate_series(timestamptz '2026-12-01', timestamptz '2027-07-01', interval '1 day') AS d"
        " WHERE g.during @> d GROUP BY d) AS per_day")
    assert 0 < busiest[0]["n"] <= 32
