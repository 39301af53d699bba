"""Telemetry's service layer on the in-memory fakes: a CSP's batch stored once, attributed to the allocation holding
each GPU, late samples dropped, and the raw samples' days given their partitions."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts import UsageRecorded, UtilizationDropped
from support.auth import csp_id
from support.clock import ManualClock
from telemetry.domain.commands import CloseHours, EndAllocation, OnRefused, RecordSamples
from telemetry.domain.errors import ServersOfAnotherCsp
from telemetry.domain.model import BatchReceipt, Sample

from .fakes import SERVER, FakeTelemetryUnitOfWork, allocated, batch, minutes_of, telemetry_bus


async def test_a_batch_is_stored_and_its_allocation_evaluated() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 60.0, minutes=61)))
    assert receipt == BatchReceipt(accepted=122, duplicates=0, allocations_evaluated=1)
    assert len(uow.samples.by_key) == 122
    # 60 samples a GPU in the first hour, one in the next (at 10:00)
    assert [(h.samples, h.utilization_pct) for h in uow.usage.of(cmd.allocation_id).values()] == [
        (120, 60.0), (2, 60.0)]
    assert uow.published == []  # busy enough; its usage is published once its hours close


async def test_a_resent_batch_counts_duplicates_and_publishes_nothing_twice() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    samples = minutes_of(cmd.starts_at, 10.0, minutes=61)
    await bus.handle(batch(samples))
    again = await bus.handle(batch(samples))
    assert again == BatchReceipt(accepted=0, duplicates=122, allocations_evaluated=0)
    assert [type(e) for e in uow.published] == [UtilizationDropped]
    assert len(uow.samples.by_key) == 122
    assert sum(h.samples for h in uow.usage.of(cmd.allocation_id).values()) == 122  # not summed twice


async def test_a_gpu_and_instant_named_twice_in_one_batch_is_stored_once() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    ts = cmd.starts_at + timedelta(minutes=1)
    receipt = await bus.handle(batch((Sample(SERVER, 0, ts, 10.0), Sample(SERVER, 0, ts, 30.0))))
    assert (receipt.accepted, receipt.duplicates) == (1, 1)
    assert [h.samples for h in uow.usage.of(cmd.allocation_id).values()] == [1]


async def test_each_sample_counts_for_the_allocation_holding_its_gpu() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    idle, busy = allocated(clock.now, first_gpu=0), allocated(clock.now, first_gpu=2)  # one server, GPUs 0-1, 2-3
    await bus.handle(idle)
    await bus.handle(busy)
    start = clock.now
    receipt = await bus.handle(batch(minutes_of(start, 5.0, minutes=61) + minutes_of(start, 80.0, minutes=61,
                                                                                      gpus=(2, 3))))
    assert receipt == BatchReceipt(accepted=244, duplicates=0, allocations_evaluated=2)
    assert [e.allocation_id for e in uow.outbox.of_type(UtilizationDropped)] == [idle.allocation_id]
    await bus.handle(CloseHours(now=start + timedelta(hours=3)))  # the 09:00 hour closes once 2 h of lateness pass
    usage = {e.allocation_id: e.utilization_pct for e in uow.outbox.of_type(UsageRecorded)}
    assert usage == {idle.allocation_id: 5.0, busy.allocation_id: 80.0}


async def test_samples_outside_the_allocation_period_are_stored_without_effects() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.advance(days=1))
    await bus.handle(cmd)
    before = await bus.handle(batch(minutes_of(cmd.starts_at - timedelta(hours=1), 0.0)))
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=clock.advance(hours=1)))
    after = await bus.handle(batch(minutes_of(clock.advance(hours=1), 0.0)))
    assert before == after == BatchReceipt(accepted=60, duplicates=0, allocations_evaluated=0, unheld=60)
    assert (uow.published, len(uow.samples.by_key), uow.usage.of(cmd.allocation_id)) == ([], 120, {})


async def test_samples_of_gpus_nobody_holds_are_stored_without_effects() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now))
    receipt = await bus.handle(batch(minutes_of(clock.advance(hours=1), 0.0, server="p3-gov-99")))
    assert receipt == BatchReceipt(accepted=60, duplicates=0, allocations_evaluated=0, unheld=60)
    assert uow.published == []


@pytest.mark.parametrize("on_refused", list(OnRefused))
async def test_samples_older_than_the_lateness_are_dropped_and_counted(on_refused: OnRefused) -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    now = clock.advance(hours=3)  # lateness 2 h: samples from 10:00 on are taken
    samples = (Sample(SERVER, 0, now - timedelta(hours=2, microseconds=1), 10.0),
               Sample(SERVER, 0, now - timedelta(hours=2), 10.0), Sample(SERVER, 1, now - timedelta(hours=1), 10.0))
    receipt = await bus.handle(RecordSamples(samples, csp_id=csp_id("gov"), received_at=now, on_refused=on_refused))
    # late samples never refuse a batch, whatever its door: their hour may be closed and its usage published
    assert receipt == BatchReceipt(accepted=2, duplicates=0, allocations_evaluated=1, refused_late=1)
    assert sorted(ts for _, _, ts in uow.samples.by_key) == [now - timedelta(hours=2), now - timedelta(hours=1)]


async def test_a_batch_gives_each_day_of_its_samples_a_partition() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    midnight = clock.advance(hours=15)  # 2026-12-02 00:00
    await bus.handle(batch(minutes_of(midnight - timedelta(minutes=1), 50.0, minutes=2)))
    assert uow.partitions.days == {date(2026, 12, 1), date(2026, 12, 2)}
    assert len(uow.samples.by_key) == 4


async def test_a_batch_naming_servers_of_another_csp_is_refused_whole_naming_each_line() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now))  # SERVER is gov's
    start = clock.advance(hours=1)
    samples = minutes_of(start, 10.0, minutes=1, server="beta-01") + minutes_of(start, 10.0, minutes=1)
    with pytest.raises(ServersOfAnotherCsp) as refused:
        await bus.handle(batch(samples, csp="beta"))
    assert refused.value.lines == [(3, "p3-gov-01"), (4, "p3-gov-01")]
    assert (uow.samples.by_key, uow.published, uow.commits) == ({}, [], 1)  # the one commit tracked it


async def test_a_server_no_allocation_names_yet_is_taken_from_any_csp() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now))  # SERVER is gov's; beta-01 is nobody's yet
    receipt = await bus.handle(batch(minutes_of(clock.advance(hours=1), 10.0, minutes=1, server="beta-01"),
                                     csp="beta"))
    assert receipt.accepted == 2
