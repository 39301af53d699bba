"""The reclaim ladder on the in-memory fakes: each warning rule with its numbers, recovery, the reclaim after the grace
period, windows with too few samples (not judged, flagged stale) and an operator's waiver.

Unless a test says otherwise the allocation has 2 GPUs planned at 730 GPU-hours a month from 09:00: 50% planned, a
threshold of 0.30 x 50 = 15%, and over a window of h hours 2h GPU-hours reserved, min(2h, 730 x h / 730) = h planned,
0.50 x h required. `minutes_of(start, pct, minutes=61)` is a sample a minute per GPU from 09:00 to 10:00 included:
the window (09:00, 10:00] is 1 hour (POLICY judges from 1), its 122 samples more than the 120 expected (coverage 1).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from contracts import TelemetryStale, UsageRecorded, UtilizationDropped, UtilizationRecovered
from support.clock import ManualClock
from telemetry.domain.commands import CloseHours, EndAllocation, WaiveReclaim
from telemetry.domain.model import HoursBasis, Ladder, Policy, ProgramCode, Rule, Step

from .fakes import POLICY, FakeTelemetryUnitOfWork, allocated, batch, hours_of, minutes_of, telemetry_bus

# a sample an hour per GPU, each standing for a GPU-hour, over windows of a day: days of data in a few dozen samples
HOURLY = Policy(sample_interval_s=3600, window_days=1, hours_window_days=1, min_judged_hours=1)


async def test_a_mean_below_the_threshold_warns_with_the_mean_rule_and_its_numbers() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(rules=frozenset({Rule.MEAN_BELOW_PLAN}), min_judged_hours=1)), \
        allocated(clock.now)
    await bus.handle(cmd)
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 10.0, minutes=61)))
    assert receipt.allocations_evaluated == 1
    [warning] = uow.published
    assert isinstance(warning, UtilizationDropped)
    assert (warning.allocation_id, warning.application_id) == (cmd.allocation_id, cmd.application_id)
    assert (warning.level, warning.rule) == ("warning", "mean_below_plan")
    assert (warning.utilization_pct, warning.threshold_pct) == pytest.approx((10.0, 15.0))
    # the GPU-hours too, for the record: 10% of 2 reserved = 0.2 actual; 1 planned, 0.5 required
    assert (warning.actual_gpu_hours, warning.planned_gpu_hours, warning.required_gpu_hours) == pytest.approx(
        (0.2, 1.0, 0.5))
    assert (warning.coverage, warning.window_start, warning.window_end) == (
        1.0, cmd.starts_at, cmd.starts_at + timedelta(hours=1))
    tracked = uow.allocations[cmd.allocation_id]
    assert (tracked.ladder, tracked.warned_at) == (Ladder.WARNED, cmd.starts_at + timedelta(hours=1))
    assert uow.steps.of(cmd.allocation_id) == [Step.WARNING]


async def test_gpu_hours_below_their_share_of_the_plan_warn_with_the_gpu_hours_rule_and_its_numbers() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)  # both rules
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 20.0, minutes=61)))
    # the mean, 20%, is above its 15%; 20% of 2 reserved GPU-hours = 0.4 actual, under 0.5 x 1 planned = 0.5
    [warning] = uow.outbox.of_type(UtilizationDropped)
    assert (warning.level, warning.rule) == ("warning", "gpu_hours_below_plan")
    assert (warning.actual_gpu_hours, warning.planned_gpu_hours, warning.required_gpu_hours) == (
        pytest.approx(0.4), pytest.approx(1.0), pytest.approx(0.5))
    assert (warning.utilization_pct, warning.threshold_pct, warning.coverage) == (
        pytest.approx(20.0), pytest.approx(15.0), 1.0)
    assert (warning.window_start, warning.window_end) == (cmd.starts_at, cmd.starts_at + timedelta(hours=1))


async def test_short_on_both_rules_one_warning_names_the_mean_rule() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 10.0, minutes=61)))
    # 10% < 15%, and 0.2 actual GPU-hours < 0.5 required: one drop, named by the policy's first rule
    [warning] = uow.published
    assert isinstance(warning, UtilizationDropped)
    assert (warning.level, warning.rule) == ("warning", "mean_below_plan")
    assert (warning.actual_gpu_hours, warning.required_gpu_hours) == pytest.approx((0.2, 0.5))


async def test_gpu_hours_in_use_count_whole_hours_so_a_low_mean_alone_warns() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(hours_basis=HoursBasis.IN_USE, min_judged_hours=1)), \
        allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 10.0, minutes=61)))
    # every sample at 10% is in use (≥ 5%): 2 of 2 reserved GPU-hours used, over the 0.5 required; the mean is not
    [warning] = uow.outbox.of_type(UtilizationDropped)
    assert (warning.rule, warning.actual_gpu_hours, warning.required_gpu_hours) == (
        "mean_below_plan", pytest.approx(2.0), pytest.approx(0.5))


async def test_a_busy_allocation_moves_nothing() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 30.0, minutes=61)))  # 0.6 GPU-hours ≥ 0.5, 30% ≥ 15%
    assert receipt.allocations_evaluated == 1
    assert (uow.published, uow.steps.of(cmd.allocation_id)) == ([], [])
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.NONE


async def test_a_window_shorter_than_the_hours_judged_is_not_judged() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy()), allocated(clock.now)  # a day of reserved time by default
    await bus.handle(cmd)
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 0.0, minutes=120)))
    assert (receipt.allocations_evaluated, uow.published, uow.steps.of(cmd.allocation_id)) == (1, [], [])


async def test_a_warned_allocation_that_recovers_says_so_and_starts_over() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 10.0, minutes=61)))
    await bus.handle(batch(minutes_of(cmd.starts_at + timedelta(minutes=61), 90.0, minutes=60)))  # 10:01-11:00
    # (09:00, 11:00]: 122 samples at 10% and 120 at 90%, a mean of 12,020 / 242 = 49.7%, over 15%; and 49.7% of 4
    # reserved GPU-hours = 1.99 over 0.5 x 2 planned = 1
    [recovered] = uow.outbox.of_type(UtilizationRecovered)
    assert recovered.utilization_pct == pytest.approx((122 * 10.0 + 120 * 90.0) / 242)
    assert (recovered.threshold_pct, recovered.window_start, recovered.window_end) == (
        15.0, cmd.starts_at, cmd.starts_at + timedelta(hours=2))
    tracked = uow.allocations[cmd.allocation_id]
    assert (tracked.ladder, tracked.warned_at) == (Ladder.NONE, None)
    assert uow.steps.of(cmd.allocation_id) == [Step.WARNING, Step.RECOVERED]
    assert len(uow.outbox.of_type(UtilizationDropped)) == 1


async def test_the_window_forgets_samples_older_than_its_days() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    policy = Policy(sample_interval_s=3600, window_days=1, rules=frozenset({Rule.MEAN_BELOW_PLAN}),
                    min_judged_hours=1, lateness_s=2 * 86_400)  # a day's samples may come at once
    bus, cmd = telemetry_bus(uow, clock, policy), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(hours_of(cmd.starts_at, 0.0, hours=2)))  # 09:00 and 10:00 at 0%: warned
    await bus.handle(batch(hours_of(cmd.starts_at + timedelta(hours=2), 20.0, hours=24)))  # 11:00 to 10:00 next day
    # the day ending at 10:00 the next day starts at 11:00 (whole hours): 48 samples, all at 20%; the 0% are out
    [recovered] = uow.outbox.of_type(UtilizationRecovered)
    assert recovered.utilization_pct == 20.0
    assert (recovered.window_start, recovered.window_end) == (cmd.starts_at + timedelta(hours=2),
                                                              cmd.starts_at + timedelta(hours=25))


async def test_a_drop_that_lasts_through_the_grace_period_asks_for_the_reclaim() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, replace(HOURLY, grace_days=1)), allocated(clock.now)
    await bus.handle(cmd)
    for hour in range(25):  # a batch an hour, from 09:00 to 09:00 the next day
        await bus.handle(batch(hours_of(cmd.starts_at + timedelta(hours=hour), 10.0, hours=1)))
    # judged from 10:00 (an hour of reserved time): warned then, and a day later still in the grace period
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning"]
    assert uow.allocations[cmd.allocation_id].warned_at == cmd.starts_at + timedelta(hours=1)
    await bus.handle(batch(hours_of(cmd.starts_at + timedelta(hours=25), 10.0, hours=1)))  # 10:00, a day after
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning", "reclaim"]
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.RECLAIM_REQUESTED
    assert uow.steps.of(cmd.allocation_id) == [Step.WARNING, Step.RECLAIM]
    assert uow.outbox.of_type(TelemetryStale) == []  # every window was covered


async def test_without_a_grace_period_the_first_drop_warns_and_asks_for_the_reclaim_at_once() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(grace_days=0, min_judged_hours=1)), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 5.0, minutes=61)))
    # a reclaim always follows a warning: here both, in the batch's one transaction
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning", "reclaim"]
    assert uow.commits == 2
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.RECLAIM_REQUESTED


async def test_once_its_reclaim_is_asked_an_allocation_is_no_longer_judged_but_its_usage_is_recorded() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(grace_days=0, min_judged_hours=1)), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(cmd.starts_at, 5.0, minutes=61)))
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at + timedelta(minutes=61), 90.0, minutes=60)))
    assert (receipt.accepted, receipt.allocations_evaluated) == (120, 0)
    await bus.handle(CloseHours(now=cmd.starts_at + timedelta(hours=4)))  # the 09:00 and 10:00 hours close
    assert [type(e) for e in uow.published] == [UtilizationDropped, UtilizationDropped, UsageRecorded, UsageRecorded]
    assert uow.allocations[cmd.allocation_id].ladder is Ladder.RECLAIM_REQUESTED


async def test_an_ended_allocation_is_not_judged() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=cmd.starts_at + timedelta(hours=2)))
    receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 0.0, minutes=61)))
    assert (receipt.accepted, receipt.allocations_evaluated, uow.published) == (122, 0, [])


@pytest.mark.parametrize("program", ["P1", "P2"])
async def test_p1_and_p2_are_not_judged_unless_switched_on_but_their_usage_is_recorded(program: ProgramCode) -> None:
    clock = ManualClock()
    off, on = FakeTelemetryUnitOfWork(), FakeTelemetryUnitOfWork()
    switched_on = Policy(monitored_programs=frozenset({program, "P3"}), min_judged_hours=1)
    for uow, policy in ((off, POLICY), (on, switched_on)):
        bus, cmd = telemetry_bus(uow, clock, policy), allocated(clock.now, program=program)
        await bus.handle(cmd)
        receipt = await bus.handle(batch(minutes_of(cmd.starts_at, 10.0, minutes=61)))
        assert (receipt.accepted, receipt.allocations_evaluated) == (122, int(uow is on))
        await bus.handle(CloseHours(now=cmd.starts_at + timedelta(hours=3)))  # the 09:00 hour closes
    assert [type(e) for e in off.published] == [UsageRecorded]          # by default: usage for billing, no ladder
    assert [type(e) for e in on.published] == [UtilizationDropped, UsageRecorded]


async def test_a_window_short_of_samples_is_not_judged_but_flagged_stale_once_until_judged_again() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    start = cmd.starts_at
    await bus.handle(batch(minutes_of(start, 10.0, minutes=61, gpus=(0,))))  # GPU 1 says nothing
    # (09:00, 10:00]: 61 samples of the 120 expected, 51% < 75%: at 10% it is not judged low, but stale
    [stale] = uow.published
    assert isinstance(stale, TelemetryStale)
    assert (stale.allocation_id, stale.reason, stale.csps) == (cmd.allocation_id, "low_coverage", ["gov"])
    assert stale.coverage == pytest.approx(61 / 120)
    assert (stale.last_sample_at, stale.detected_at) == (start + timedelta(hours=1), start + timedelta(hours=1))
    await bus.handle(batch(minutes_of(start + timedelta(minutes=61), 10.0, minutes=60, gpus=(0,))))
    assert len(uow.published) == 1  # (09:00, 11:00]: 121 of 240, still short, said once
    assert uow.allocations[cmd.allocation_id].stale_since == start + timedelta(hours=1)
    # GPU 1's samples from 09:01 arrive late, within the lateness (2 h): 241 of 240, judged, and low
    await bus.handle(batch(minutes_of(start + timedelta(minutes=1), 10.0, minutes=120, gpus=(1,))))
    assert [type(e) for e in uow.published] == [TelemetryStale, UtilizationDropped]
    assert uow.steps.of(cmd.allocation_id) == [Step.STALE, Step.FRESH, Step.WARNING]
    assert uow.allocations[cmd.allocation_id].stale_since is None


async def test_a_waiver_starts_the_ladder_over_judging_only_whole_hours_after_it() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock, Policy(grace_days=0, min_judged_hours=1)), allocated(clock.now)
    start = cmd.starts_at
    await bus.handle(cmd)
    await bus.handle(batch(minutes_of(start, 5.0, minutes=61)))  # warned and reclaim asked at 10:00
    await bus.handle(WaiveReclaim(allocation_id=cmd.allocation_id, waived_at=start + timedelta(hours=1, seconds=30)))
    tracked = uow.allocations[cmd.allocation_id]
    assert (tracked.ladder, tracked.warned_at, tracked.waived_at) == (
        Ladder.NONE, None, start + timedelta(hours=1, seconds=30))
    # judged from 11:00, the first whole hour after the waiver: up to 11:00 there is nothing to judge yet
    receipt = await bus.handle(batch(minutes_of(start + timedelta(minutes=61), 5.0, minutes=60)))  # 10:01-11:00
    assert receipt.allocations_evaluated == 1
    assert [e.level for e in uow.outbox.of_type(UtilizationDropped)] == ["warning", "reclaim"]
    # (11:00, 12:00]: 120 samples of the 11:00 hour and 2 at 12:00, all at 5%: the drop starts a new warning
    await bus.handle(batch(minutes_of(start + timedelta(minutes=121), 5.0, minutes=60)))  # 11:01-12:00
    drops = uow.outbox.of_type(UtilizationDropped)
    assert [e.level for e in drops] == ["warning", "reclaim", "warning", "reclaim"]
    assert (drops[2].window_start, drops[2].window_end) == (start + timedelta(hours=2), start + timedelta(hours=3))
    assert uow.steps.of(cmd.allocation_id) == [Step.WARNING, Step.RECLAIM, Step.WAIVED, Step.WARNING, Step.RECLAIM]
    assert uow.outbox.of_type(TelemetryStale) == []


async def test_a_waiver_delivered_again_or_older_than_the_last_one_is_not_taken_twice() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    waived_at = cmd.starts_at + timedelta(hours=1)
    for at in (waived_at, waived_at, waived_at - timedelta(minutes=1)):
        await bus.handle(WaiveReclaim(allocation_id=cmd.allocation_id, waived_at=at))
    assert uow.steps.of(cmd.allocation_id) == [Step.WAIVED]
    assert (uow.allocations[cmd.allocation_id].waived_at, uow.published) == (waived_at, [])


async def test_a_waiver_of_an_ended_or_untracked_allocation_changes_nothing() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus, cmd = telemetry_bus(uow, clock), allocated(clock.now)
    await bus.handle(cmd)
    await bus.handle(EndAllocation(allocation_id=cmd.allocation_id, ended_at=cmd.starts_at + timedelta(hours=1)))
    await bus.handle(WaiveReclaim(allocation_id=cmd.allocation_id, waived_at=cmd.starts_at + timedelta(hours=2)))
    await bus.handle(WaiveReclaim(allocation_id=uuid4(), waived_at=cmd.starts_at + timedelta(hours=2)))
    assert (uow.allocations[cmd.allocation_id].waived_at, uow.steps.of(cmd.allocation_id)) == (None, [])
    assert (list(uow.allocations.by_id), uow.published) == ([cmd.allocation_id], [])
