"""Telemetry's service layer on the in-memory fakes: allocations tracked from allocation's events, and ended."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from support.clock import ManualClock
from telemetry.domain.commands import EndAllocation
from telemetry.domain.model import Ladder, Slot

from .fakes import SERVER, FakeTelemetryUnitOfWork, allocated, telemetry_bus


async def test_an_allocation_is_tracked_with_its_gpus_and_no_step_on_the_ladder() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    cmd = allocated(clock.now, gpus=2)
    await telemetry_bus(uow, clock).handle(cmd)
    tracked = uow.allocations[cmd.allocation_id]
    assert tracked.slots == [Slot(SERVER, 0, "gov"), Slot(SERVER, 1, "gov")]
    assert (tracked.application_id, tracked.program, tracked.planned_gpu_hours_per_month) == (
        cmd.application_id, "P3", 730)
    assert (tracked.ladder, tracked.warned_at, tracked.ended_at) == (Ladder.NONE, None, None)
    assert (uow.commits, uow.published) == (1, [])


async def test_an_allocation_announced_twice_is_tracked_once_as_first_announced() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(replace(cmd, planned_gpu_hours_per_month=1))
    assert list(uow.allocations.by_id) == [cmd.allocation_id]
    assert uow.allocations[cmd.allocation_id].planned_gpu_hours_per_month == 730


async def test_a_reclaim_ends_the_allocation_at_the_reclaim() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    reclaimed_at = cmd.starts_at + timedelta(hours=1)
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=reclaimed_at))
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=reclaimed_at + timedelta(days=1)))
    tracked = uow.allocations[cmd.allocation_id]
    assert (tracked.ended_at, tracked.until) == (reclaimed_at, reclaimed_at)  # the first reclaim stands
    assert uow.published == []


async def test_a_reclaim_of_an_untracked_allocation_changes_nothing() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    await telemetry_bus(uow, clock).handle(EndAllocation(allocation_id=uuid4(), ended_at=clock.now))
    assert (uow.allocations.by_id, uow.published, uow.commits) == ({}, [], 1)
