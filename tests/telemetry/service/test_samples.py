"""Telemetry's service layer on the in-memory fakes: a CSP's batch stored, attributed, and the ladder moved on it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts import UsageRecorded, UtilizationDropped, UtilizationRecovered
from support.clock import ManualClock
from telemetry.domain.commands import EndAllocation, RecordSamples
from telemetry.domain.errors import ServersOfAnotherCsp
from telemetry.domain.model import BatchReceipt, Ladder, Policy, ProgramCode, Sample

from .fakes import FakeTelemetryUnitOfWork, allocated, minutes_of, telemetry_bus


def batch(samples: tuple[Sample, ...], *, csp: str = "gov") -> RecordSamples:
    """An NDJSON batch, received a minute after its newest sample."""
    received_at = max(s.ts for s in samples) + timedelta(minutes=1)
    return RecordSamples(samples, csp=csp, received_at=received_at, line_numbers=tuple(range(1, len(samples) + 1)))


async def test_a_low_batch_warns_and_records_the_usage() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)  # 50% planned: a 15% threshold
    await bus.handle(cmd)
    samples = minutes_of(clock.advance(hours=1), 10.0)
    receipt = await bus.handle(batch(samples))
    assert receipt == BatchReceipt(accepted=60, duplicates=0, allocations_evaluated=1)
    [usage] = uow.outbox.of_type(UsageRecorded)
    assert (usage.allocation_id, usage.gpu_hours, usage.utilization_pct) == (cmd.allocation_id, 0.1, 10.0)
    assert (usage.window_start, usage.window_end) == (samples[0].ts, samples[-1].ts)
    [warning] = uow.outbox.of_type(UtilizationDropped)
    assert (warning.level, warning.utilization_pct, warning.threshold_pct) == ("warning", 10.0, 15.0)
    tracked = uow.allocations[cmd.allocation_id]
    assert (tracked.ladder, tracked.warned_at) == (Ladder.WARNED, samples[-1].ts)


@pytest.mark.parametrize("program", ["P1", "P2"])
async def test_p1_and_p2_are_not_judged_unless_switched_on_but_their_usage_is_recorded(program: ProgramCode) -> None:
    clock = ManualClock()
    off, on = FakeTelemetryUnitOfWork(), FakeTelemetryUnitOfWork()
    switched_on = Policy(monitored_programs=frozenset({program, "P3"}))
    for uow, policy in ((off, Policy()), (on, switched_on)):
        bus, cmd = telemetry_bus(uow, clock, policy), allocated(clock.now, program=program)
        await bus.handle(cmd)
        receipt = await bus.handle(batch(minutes_of(clock.now + timedelta(hours=1), 10.0)))
        assert receipt.accepted == 60
    assert [type(e) for e in off.published] == [UsageRecorded]          # by default: usage for billing, no ladder
    assert [type(e) for e in on.published] == [UsageRecorded, UtilizationDropped]


async def test_a_busy_batch_records_the_usage_and_moves_nothing() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    receipt = await bus.handle(batch(minutes_of(clock.advance(hours=1), 60.0)))
    assert receipt.allocations_evaluated == 1
    assert [type(e) for e in uow.published] == [UsageRecorded]
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.NONE


async def test_a_drop_that_lasts_through_the_grace_period_asks_for_the_reclaim() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(clock.advance(hours=1), 10.0)))
    await bus.handle(batch(minutes_of(clock.advance(days=3), 10.0)))  # still in the grace period
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning"]
    await bus.handle(batch(minutes_of(clock.advance(days=4), 10.0)))  # a week after the warning
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning", "reclaim"]
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.RECLAIM_REQUESTED


async def test_without_a_grace_period_the_first_drop_warns_and_asks_for_the_reclaim_at_once() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(grace_days=0)), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(clock.advance(hours=1), 5.0)))
    # a reclaim always follows a warning: here both, in the batch's one transaction
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning", "reclaim"]
    assert uow.commits == 2
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.RECLAIM_REQUESTED


async def test_once_its_reclaim_is_asked_an_allocation_is_no_longer_judged_but_its_usage_is_recorded() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(grace_days=0)), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(clock.advance(hours=1), 5.0)))
    receipt = await bus.handle(batch(minutes_of(clock.advance(hours=1), 90.0)))
    assert (receipt.accepted, receipt.allocations_evaluated) == (60, 0)
    assert [type(e) for e in uow.published] == [UsageRecorded, UtilizationDropped, UtilizationDropped, UsageRecorded]
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.RECLAIM_REQUESTED


async def test_a_warned_allocation_that_recovers_says_so_and_starts_over() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(clock.advance(hours=1), 10.0)))
    await bus.handle(batch(minutes_of(clock.advance(hours=1), 90.0, minutes=60)))
    [recovered] = uow.outbox.of_type(UtilizationRecovered)
    assert recovered.utilization_pct == (60 * 10.0 + 120 * 90.0) / 180  # the week's mean, both batches
    assert recovered.threshold_pct == 15.0
    tracked = uow.allocations[cmd.allocation_id]
    assert (tracked.ladder, tracked.warned_at) == (Ladder.NONE, None)
    assert len(uow.outbox.of_type(UtilizationDropped)) == 1


async def test_the_window_forgets_samples_older_than_its_days() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(clock.advance(hours=1), 10.0)))
    await bus.handle(batch(minutes_of(clock.advance(days=8), 20.0)))  # the warning's week is out of the window
    [recovered] = uow.outbox.of_type(UtilizationRecovered)
    assert (recovered.utilization_pct, recovered.window_end - recovered.window_start) == (20.0, timedelta(days=7))


async def test_a_resent_batch_counts_duplicates_and_publishes_nothing_twice() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    samples = minutes_of(clock.advance(hours=1), 10.0)
    await bus.handle(batch(samples))
    again = await bus.handle(batch(samples))
    assert again == BatchReceipt(accepted=0, duplicates=60, allocations_evaluated=0)
    assert [type(e) for e in uow.published] == [UsageRecorded, UtilizationDropped]
    assert len(uow.samples.by_key) == 60


async def test_each_sample_counts_for_the_allocation_holding_its_gpu() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    idle, busy = allocated(clock.now, first_gpu=0), allocated(clock.now, first_gpu=2)  # one server, GPUs 0-1, 2-3
    await bus.handle(idle)
    await bus.handle(busy)
    start = clock.advance(hours=1)
    receipt = await bus.handle(batch(minutes_of(start, 5.0) + minutes_of(start, 80.0, gpus=(2, 3))))
    assert receipt == BatchReceipt(accepted=120, duplicates=0, allocations_evaluated=2)
    usage = {e.allocation_id: e.utilization_pct for e in uow.outbox.of_type(UsageRecorded)}
    assert usage == {idle.allocation_id: 5.0, busy.allocation_id: 80.0}
    assert [e.allocation_id for e in uow.outbox.of_type(UtilizationDropped)] == [idle.allocation_id]


async def test_samples_outside_the_allocation_period_are_stored_without_effects() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.advance(days=1))
    await bus.handle(cmd)
    before = await bus.handle(batch(minutes_of(cmd.starts_at - timedelta(hours=1), 0.0)))
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=clock.advance(hours=1)))
    after = await bus.handle(batch(minutes_of(clock.advance(hours=1), 0.0)))
    assert before == after == BatchReceipt(accepted=60, duplicates=0, allocations_evaluated=0, unheld=60)
    assert (uow.published, len(uow.samples.by_key)) == ([], 120)


async def test_samples_of_gpus_nobody_holds_are_stored_without_effects() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now))
    receipt = await bus.handle(batch(minutes_of(clock.advance(hours=1), 0.0, server="p3-gov-99")))
    assert receipt == BatchReceipt(accepted=60, duplicates=0, allocations_evaluated=0, unheld=60)
    assert uow.published == []


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
