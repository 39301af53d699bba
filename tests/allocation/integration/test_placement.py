"""Placement, reclaims and withdrawals through allocation's own bus, on the real database."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from allocation import demo
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.domain.commands import (
    AddRoundCandidate,
    AllocateGpus,
    ReclaimResource,
    SeedInventory,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.model import PROGRAM_ZONE, Allocation, Status
from servicekit.retry import is_transient
from servicekit.runtime import Runtime
from support.auth import OPERATOR
from support.stack import Stack

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
JAN_15 = datetime(2027, 1, 15, tzinfo=UTC)

# the outbox rows the tests here are about: the seeded CSPs' announcements (CspRegistered) are test_inventory_api's
NOT_ANNOUNCED = "type <> 'allocation.csp_registered.v1'"


def allocate(gpus: int, start: date = date(2026, 12, 1), end: date = date(2027, 2, 28)) -> AllocateGpus:
    return AllocateGpus(application_id=uuid.uuid4(), program="P3", score=80.0, gpus=gpus, gpu_model="H100",
                        period_start=start, period_end=end, planned_gpu_hours_per_month=1000)


@pytest.fixture
async def bus(runtime: Runtime[SqlAllocationUnitOfWork]) -> Any:
    await runtime.bus.handle(SeedInventory(csps=demo.CSPS, servers=demo.P3_SERVERS))
    return runtime.bus


async def events(query: Query) -> list[str]:
    """The events written, but the seeded CSPs' announcements."""
    return [r["type"].split(".")[1]
            for r in await query(f"SELECT type FROM allocation.outbox WHERE {NOT_ANNOUNCED} ORDER BY seq")]


async def payloads(query: Query, type_like: str = "%") -> list[dict[str, Any]]:
    rows = await query(f"SELECT payload FROM allocation.outbox WHERE type LIKE $1 AND {NOT_ANNOUNCED} ORDER BY seq",
                       type_like)
    return [json.loads(r["payload"]) for r in rows]


async def test_requests_go_to_the_fullest_server_that_fits(bus: Any) -> None:
    first: Allocation = await bus.handle(allocate(6))
    second: Allocation = await bus.handle(allocate(2))
    third: Allocation = await bus.handle(allocate(3))
    assert [(s.server_name, s.gpu_index) for s in first.slots] == [("p3-gov-01", i) for i in range(6)]
    assert [(s.server_name, s.gpu_index) for s in second.slots] == [("p3-gov-01", 6), ("p3-gov-01", 7)]
    assert {s.server_name for s in third.slots} == {"p3-gov-02"}


async def test_gpus_busy_in_another_period_are_free_for_this_one(bus: Any, query: Query) -> None:
    assert await bus.handle(allocate(32, date(2026, 12, 1), date(2026, 12, 31))) is not None
    assert await bus.handle(allocate(32, date(2027, 1, 1), date(2027, 1, 31))) is not None
    assert await bus.handle(allocate(1, date(2026, 12, 31), date(2027, 1, 1))) is None
    assert await events(query) == ["resource_allocated", "resource_allocated", "application_waitlisted"]


async def test_a_gpu_taken_twice_in_a_period_counts_once_so_the_rest_of_its_server_is_still_offered(
        bus: Any) -> None:
    december: Allocation = await bus.handle(allocate(4, date(2026, 12, 1), date(2026, 12, 31)))
    january: Allocation = await bus.handle(allocate(4, date(2027, 1, 1), date(2027, 1, 31)))
    taken = [("p3-gov-01", i) for i in range(4)]
    assert [(s.server_name, s.gpu_index) for s in december.slots] == taken
    assert [(s.server_name, s.gpu_index) for s in january.slots] == taken
    # over both months GPUs 0-3 are taken twice each (eight rows for an 8-GPU server); 4-7 are free all along
    both: Allocation = await bus.handle(allocate(4, date(2026, 12, 1), date(2027, 1, 31)))
    assert [(s.server_name, s.gpu_index) for s in both.slots] == [("p3-gov-01", i) for i in range(4, 8)]


async def test_gpus_reclaimed_mid_period_are_free_after_the_reclaim_and_not_before(bus: Any) -> None:
    whole_pool: Allocation = await bus.handle(allocate(32))
    await bus.handle(ReclaimResource(whole_pool.id, "operator", datetime(2027, 1, 1, tzinfo=PROGRAM_ZONE)))
    assert await bus.handle(allocate(32, date(2027, 1, 1), date(2027, 2, 28))) is not None
    assert await bus.handle(allocate(1, date(2026, 12, 31), date(2026, 12, 31))) is None


async def test_an_operator_reclaim_is_published_and_a_second_one_is_a_conflict(stack: Stack, bus: Any,
                                                                                query: Query) -> None:
    placed: Allocation = await bus.handle(allocate(4))
    async with stack.api("allocation") as api:
        reclaimed = await api.post(f"/allocations/{placed.id}/reclaim",
                                   json={"reason": "off_purpose", "at": JAN_15.isoformat()}, headers=OPERATOR)
        again = await api.post(f"/allocations/{placed.id}/reclaim", json={"reason": "operator"}, headers=OPERATOR)
        bad_reason = await api.post(f"/allocations/{placed.id}/reclaim", json={"reason": "bored"}, headers=OPERATOR)
    assert reclaimed.status_code == 200
    assert (reclaimed.json()["status"], reclaimed.json()["end_reason"]) == ("reclaimed", "off_purpose")
    assert (again.status_code, bad_reason.status_code) == (409, 422)
    published = await payloads(query)
    assert len(published) == 2
    assert published[-1]["reason"] == "off_purpose"
    assert datetime.fromisoformat(published[-1]["reclaimed_at"]) == JAN_15


async def test_a_telemetry_reclaim_of_an_ended_allocation_changes_nothing(bus: Any, query: Query) -> None:
    placed: Allocation = await bus.handle(allocate(4))
    await bus.handle(ReclaimResource(placed.id, "operator", JAN_15))
    later = await bus.handle(ReclaimResource(placed.id, "low_utilization", datetime(2027, 2, 1, tzinfo=UTC),
                                             if_active=True))
    assert (later.status, later.end_reason, later.ended_at) == (Status.RECLAIMED, "operator", JAN_15)
    assert await events(query) == ["resource_allocated", "resource_reclaimed"]


async def test_a_warning_is_recorded_on_the_allocation(bus: Any, runtime: Runtime[SqlAllocationUnitOfWork]) -> None:
    placed: Allocation = await bus.handle(allocate(4))
    await bus.handle(WarnAllocation(placed.id, JAN_15))
    async with runtime.uow_factory() as uow:
        stored = await uow.allocations.get(placed.id)
    assert stored is not None
    assert stored.warned_at == JAN_15 and stored.status is Status.ACTIVE


async def test_a_withdrawal_releases_the_gpus_and_takes_the_application_out_of_line(
        bus: Any, query: Query) -> None:
    placed: Allocation = await bus.handle(allocate(4))
    too_big = allocate(40)
    await bus.handle(too_big)
    await bus.handle(WithdrawApplication(placed.application_id, JAN_15))
    await bus.handle(WithdrawApplication(too_big.application_id, JAN_15))
    row = (await query("SELECT status, ended_at, end_reason FROM allocation.allocation"))[0]
    assert tuple(row) == ("released", JAN_15, "withdrawn")
    assert await query("SELECT * FROM allocation.waitlist") == []
    assert [p["reason"] for p in await payloads(query, "%reclaimed%")] == ["withdrawn"]


async def test_a_round_program_application_is_recorded_as_a_candidate_without_an_event(
        bus: Any, query: Query) -> None:
    call_id = uuid.uuid4()
    await bus.handle(AddRoundCandidate(uuid.uuid4(), "P2", call_id, 77.0, "early_career", "KAIST", 8, "H200",
                                       date(2027, 3, 1), date(2027, 8, 31)))
    rows = await query("SELECT program, call_id, track, lower(period) AS starts_at FROM allocation.round_candidate")
    assert [tuple(r) for r in rows] == [("P2", call_id, "early_career", datetime(2027, 3, 1, tzinfo=PROGRAM_ZONE))]
    assert await events(query) == []


async def test_two_placements_racing_for_the_last_gpus_end_with_one_allocation(bus: Any, query: Query) -> None:
    """The loser either saw the winner's GPUs or hit the exclusion constraint (transient): retried, it waits."""
    racers = [allocate(32), allocate(32)]
    results = await asyncio.gather(*(bus.handle(c) for c in racers), return_exceptions=True)
    for cmd, result in zip(racers, results, strict=True):
        if isinstance(result, BaseException):
            assert is_transient(result), result
            assert await bus.handle(cmd) is None
    assert sorted(await events(query)) == ["application_waitlisted", "resource_allocated"]
    assert len(await query("SELECT * FROM allocation.allocation")) == 1
