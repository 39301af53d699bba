"""The worker's rounds on the in-memory fakes: hours closed and their usage published once, allocations gone silent
flagged once, and the raw samples' partitions kept ahead and dropped past the retention.

The allocations have 2 GPUs from 09:00 (`allocated`); the lateness is 2 hours (POLICY): the hour 09:00-10:00 can take
samples until 12:00, and closes with the first round from then on.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts import TelemetryStale, UsageRecorded
from support.auth import csp_id
from support.clock import ManualClock
from telemetry.domain.commands import CloseHours, EndAllocation, FlagSilentAllocations, KeepPartitions, RecordSamples
from telemetry.domain.model import Step

from .fakes import FakeTelemetryUnitOfWork, allocated, batch, minutes_of, telemetry_bus


async def test_each_allocation_s_hour_publishes_its_usage_once_when_it_can_take_no_more_samples() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    idle, busy = allocated(clock.now, first_gpu=0), allocated(clock.now, first_gpu=2)
    await bus.handle(idle)
    await bus.handle(busy)
    start = clock.now
    await bus.handle(batch(minutes_of(start, 10.0, minutes=90) + minutes_of(start, 80.0, minutes=90, gpus=(2, 3))))
    assert await bus.handle(CloseHours(now=start + timedelta(hours=2, minutes=59))) == 0  # 09:00 takes samples yet
    assert uow.outbox.of_type(UsageRecorded) == []
    assert await bus.handle(CloseHours(now=start + timedelta(hours=3))) == 2
    assert await bus.handle(CloseHours(now=start + timedelta(hours=3, minutes=30))) == 0  # nothing twice
    # 09:00: 120 samples of 2 GPUs = 2 GPU-hours covered of 2 reserved, 10% (80%) busy: 0.2 (1.6) GPU-hours
    assert {e.allocation_id: (e.application_id, e.window_start, e.window_end, e.gpu_hours, e.utilization_pct)
            for e in uow.outbox.of_type(UsageRecorded)} == {
        idle.allocation_id: (idle.application_id, start, start + timedelta(hours=1), pytest.approx(0.2), 10.0),
        busy.allocation_id: (busy.application_id, start, start + timedelta(hours=1), pytest.approx(1.6), 80.0)}
    assert await bus.handle(CloseHours(now=start + timedelta(hours=4))) == 2
    # 10:00: 60 samples (10:00-10:29) = 1 GPU-hour covered of 2 reserved: 0.1 (0.8) GPU-hours, the rest not counted
    # as idle
    assert {e.allocation_id: (e.window_start, e.gpu_hours, e.utilization_pct)
            for e in uow.outbox.of_type(UsageRecorded)[2:]} == {
        idle.allocation_id: (start + timedelta(hours=1), pytest.approx(0.1), 10.0),
        busy.allocation_id: (start + timedelta(hours=1), pytest.approx(0.8), 80.0)}
    assert len(uow.outbox.of_type(UsageRecorded)) == 4
    assert all(h.closed for h in uow.usage.of(idle.allocation_id).values())


async def test_an_hour_within_the_lateness_stays_open_and_takes_late_samples_then_refuses_them() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    start = cmd.starts_at
    await bus.handle(batch(minutes_of(start, 40.0)))  # 09:00-09:29
    now = clock.advance(hours=2, minutes=30)  # 11:30: samples from 09:30 on are taken
    assert await bus.handle(CloseHours(now=now)) == 0
    late = await bus.handle(RecordSamples(minutes_of(start + timedelta(minutes=30), 40.0), csp_id=csp_id("gov"),
                                          received_at=now))  # 09:30-09:59
    assert (late.accepted, late.refused_late) == (60, 0)
    assert await bus.handle(CloseHours(now=clock.advance(minutes=30))) == 1  # 12:00
    [usage] = uow.outbox.of_type(UsageRecorded)
    assert (usage.window_start, usage.gpu_hours) == (start, pytest.approx(0.8))  # 2 GPU-hours covered at 40%
    # once the hour has closed and its usage is published, a sample of it is late
    too_late = await bus.handle(RecordSamples(minutes_of(start + timedelta(minutes=59, seconds=30), 90.0, minutes=1),
                                              csp_id=csp_id("gov"), received_at=clock.now))
    assert (too_late.accepted, too_late.refused_late) == (0, 2)
    assert await bus.handle(CloseHours(now=clock.advance(hours=1))) == 0


async def test_a_round_closes_at_most_its_limit_oldest_first() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 40.0, minutes=150)))  # 09:00-11:29
    now = cmd.starts_at + timedelta(hours=5)
    assert [await bus.handle(CloseHours(now=now, limit=2)) for _ in range(3)] == [2, 1, 0]
    assert [e.window_start.hour for e in uow.outbox.of_type(UsageRecorded)] == [9, 10, 11]


async def test_an_ended_allocation_s_last_hour_counts_its_own_time_only() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=cmd.starts_at + timedelta(minutes=30)))
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 50.0, minutes=60)))
    assert (receipt.accepted, receipt.unheld) == (120, 60)
    await bus.handle(CloseHours(now=cmd.starts_at + timedelta(hours=3)))
    # 09:00-09:29 is its own: 2 GPUs x 0.5 h = 1 GPU-hour reserved, 60 samples cover it, 50% busy
    [usage] = uow.outbox.of_type(UsageRecorded)
    assert (usage.gpu_hours, usage.utilization_pct) == (pytest.approx(0.5), 50.0)


async def test_an_allocation_with_no_sample_for_the_stale_time_is_flagged_silent_once() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)  # stale after 1 h
    await bus.handle(cmd)
    start = cmd.starts_at
    await bus.handle(batch(minutes_of(start, 50.0)))  # 09:00-09:29
    assert await bus.handle(FlagSilentAllocations(now=start + timedelta(hours=1, minutes=29))) == 0
    assert await bus.handle(FlagSilentAllocations(now=start + timedelta(hours=1, minutes=30))) == 1
    assert await bus.handle(FlagSilentAllocations(now=start + timedelta(hours=3))) == 0  # said once
    [stale] = uow.published
    assert isinstance(stale, TelemetryStale)
    assert (stale.allocation_id, stale.application_id, stale.csps) == (cmd.allocation_id, cmd.application_id, ["gov"])
    assert (stale.reason, stale.coverage) == ("silent", None)
    assert (stale.last_sample_at, stale.detected_at) == (start + timedelta(minutes=29),
                                                         start + timedelta(hours=1, minutes=30))
    assert uow.steps.of(cmd.allocation_id) == [Step.STALE]
    assert uow.allocations[cmd.allocation_id].stale_since == start + timedelta(hours=1, minutes=30)


async def test_the_silent_are_those_under_way_and_judged_only() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)  # P3 judged only
    never_heard, ended, p1 = allocated(clock.now), allocated(clock.now, first_gpu=2), allocated(
        clock.now, first_gpu=4, program="P1")
    just_started, reporting = allocated(clock.now + timedelta(hours=1, minutes=30), first_gpu=6), allocated(
        clock.now, first_gpu=8)
    for cmd in (never_heard, ended, p1, just_started, reporting):
        await bus.handle(cmd)
    await bus.handle(EndAllocation(allocation_id=ended.allocation_id, ended_at=clock.now + timedelta(minutes=30)))
    now = clock.advance(hours=2)
    await bus.handle(batch(minutes_of(now - timedelta(hours=2), 50.0, minutes=119, gpus=(8, 9))))  # until 10:58
    assert await bus.handle(FlagSilentAllocations(now=now)) == 1
    [stale] = uow.outbox.of_type(TelemetryStale)
    assert (stale.allocation_id, stale.reason, stale.last_sample_at) == (never_heard.allocation_id, "silent", None)


async def test_samples_that_come_back_lift_the_silent_flag_once_judged_again() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    start = cmd.starts_at
    await bus.handle(batch(minutes_of(start, 50.0, minutes=61)))  # 09:00-10:00, busy enough
    assert await bus.handle(FlagSilentAllocations(now=start + timedelta(hours=2, minutes=1))) == 1
    # the gap filled within the lateness: (09:00, 12:00], 362 samples of 360 expected, 50%
    await bus.handle(batch(minutes_of(start + timedelta(minutes=61), 50.0, minutes=120)))  # 10:01-12:00
    assert uow.steps.of(cmd.allocation_id) == [Step.STALE, Step.FRESH]
    assert uow.allocations[cmd.allocation_id].stale_since is None
    assert [type(e) for e in uow.published] == [TelemetryStale]


async def test_partitions_are_kept_days_ahead_and_dropped_past_the_retention_with_their_samples() -> None:
    clock = ManualClock()  # 2026-12-01 09:00
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 50.0, minutes=61)))
    clock.advance(days=4)  # 2026-12-05
    assert await bus.handle(KeepPartitions(now=clock.now, retention_days=3, days_ahead=2)) == 1
    # yesterday, today and 2 days ahead created; the days before 12-02 (today - 3) dropped: 12-01
    assert uow.partitions.days == {date(2026, 12, d) for d in (4, 5, 6, 7)}
    assert uow.samples.by_key == {}
    assert sum(h.samples for h in uow.usage.of(cmd.allocation_id).values()) == 122  # the rollups stay
    assert await bus.handle(KeepPartitions(now=clock.now, retention_days=3, days_ahead=2)) == 0
    assert uow.partitions.days == {date(2026, 12, d) for d in (4, 5, 6, 7)}
