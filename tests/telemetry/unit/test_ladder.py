"""The reclaim ladder and the arithmetic behind it, without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from telemetry.domain.model import (
    Allocation,
    BatchUsage,
    Ladder,
    Policy,
    Sample,
    Slot,
    Step,
    Window,
    attribute,
)

START = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = Policy(warn_ratio=0.30, window_days=7, grace_days=7, sample_interval_s=60)


def an_allocation(**overrides: Any) -> Allocation:
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=4, starts_at=START,
                            ends_at=START + timedelta(days=90), planned_gpu_hours_per_month=2000,
                            slots=[Slot("p3-gov-01", i, "gov") for i in range(4)])
    return replace(allocation, **overrides)


def window(utilization_pct: float, *, day: float) -> Window:
    return Window.ending_at(START + timedelta(days=day), 7, utilization_pct, samples=100)


def sample(gpu_index: int, ts: datetime, utilization_pct: float, server: str = "p3-gov-01") -> Sample:
    return Sample(server, gpu_index, ts, utilization_pct)


def test_the_planned_utilization_is_planned_hours_over_all_the_gpu_hours_of_a_month() -> None:
    assert an_allocation(gpus=4, planned_gpu_hours_per_month=2000).planned_pct == pytest.approx(
        2000 / (4 * 730) * 100)


def test_the_planned_utilization_never_exceeds_one_hundred_percent() -> None:
    assert an_allocation(gpus=1, planned_gpu_hours_per_month=1000).planned_pct == 100.0


def test_the_threshold_is_the_warn_ratio_of_the_plan() -> None:
    allocation = an_allocation(gpus=8, planned_gpu_hours_per_month=2920)
    assert allocation.planned_pct == pytest.approx(50.0)
    assert allocation.threshold_pct(POLICY) == pytest.approx(15.0)
    assert allocation.threshold_pct(Policy(warn_ratio=0.5)) == pytest.approx(25.0)


def test_gpu_hours_weigh_each_sample_interval_by_its_busy_share() -> None:
    usage = BatchUsage.starting_with(uuid4(), sample(0, START, 50.0))
    usage.add(sample(1, START, 100.0))
    usage.add(sample(0, START + timedelta(minutes=1), 0.0))
    assert usage.gpu_hours(60) == pytest.approx(1.5 * 60 / 3600)
    assert usage.gpu_hours(30) == pytest.approx(1.5 * 30 / 3600)
    assert usage.utilization_pct == pytest.approx(50.0)
    assert (usage.first_ts, usage.last_ts) == (START, START + timedelta(minutes=1))


def test_a_full_hour_of_one_fully_busy_gpu_is_one_gpu_hour() -> None:
    usage = BatchUsage.starting_with(uuid4(), sample(0, START, 100.0))
    for minute in range(1, 60):
        usage.add(sample(0, START + timedelta(minutes=minute), 100.0))
    assert usage.gpu_hours(60) == pytest.approx(1.0)


def test_a_first_drop_below_the_threshold_is_a_warning_stamped_with_the_window_end() -> None:
    allocation = an_allocation()  # threshold 0.3 * 68.49% = 20.5%
    assert allocation.evaluate(window(10.0, day=3), POLICY) is Step.WARNING
    assert allocation.ladder is Ladder.WARNED
    assert allocation.warned_at == START + timedelta(days=3)


def test_utilization_at_the_threshold_is_not_a_drop() -> None:
    allocation = an_allocation(gpus=8, planned_gpu_hours_per_month=2920)  # threshold exactly 15%
    assert allocation.evaluate(window(15.0, day=3), POLICY) is None
    assert allocation.ladder is Ladder.NONE


def test_a_warned_allocation_still_low_within_the_grace_period_is_not_warned_again() -> None:
    allocation = an_allocation()
    allocation.evaluate(window(10.0, day=3), POLICY)
    assert allocation.evaluate(window(10.0, day=9.9), POLICY) is None
    assert allocation.ladder is Ladder.WARNED


def test_reclaims_after_the_grace_period_without_recovery() -> None:
    allocation = an_allocation()
    allocation.evaluate(window(10.0, day=3), POLICY)
    assert allocation.evaluate(window(10.0, day=10), POLICY) is Step.RECLAIM
    assert allocation.ladder is Ladder.RECLAIM_REQUESTED


def test_once_a_reclaim_is_requested_nothing_more_is_said() -> None:
    allocation = an_allocation()
    allocation.evaluate(window(10.0, day=3), POLICY)
    allocation.evaluate(window(10.0, day=10), POLICY)
    assert allocation.evaluate(window(10.0, day=20), POLICY) is None
    assert allocation.evaluate(window(90.0, day=21), POLICY) is None
    assert allocation.ladder is Ladder.RECLAIM_REQUESTED


def test_without_a_grace_period_the_first_drop_is_already_a_reclaim() -> None:
    allocation = an_allocation()
    assert allocation.evaluate(window(10.0, day=3), Policy(grace_days=0)) is Step.RECLAIM
    assert allocation.ladder is Ladder.RECLAIM_REQUESTED


def test_recovery_during_the_grace_period_resets_the_ladder() -> None:
    allocation = an_allocation()
    allocation.evaluate(window(10.0, day=3), POLICY)
    assert allocation.evaluate(window(60.0, day=5), POLICY) is Step.RECOVERED
    assert (allocation.ladder, allocation.warned_at) == (Ladder.NONE, None)
    assert allocation.evaluate(window(10.0, day=11), POLICY) is Step.WARNING
    assert allocation.warned_at == START + timedelta(days=11)


def test_an_ended_allocation_is_not_evaluated() -> None:
    allocation = an_allocation()
    allocation.end(START + timedelta(days=2))
    assert allocation.evaluate(window(0.0, day=3), POLICY) is None
    assert allocation.ladder is Ladder.NONE


def test_samples_go_to_the_allocation_holding_the_gpu_at_their_instant() -> None:
    before = an_allocation(starts_at=START - timedelta(days=30), ends_at=START)
    current = an_allocation()
    samples = [sample(0, START - timedelta(minutes=1), 40.0), sample(0, START, 20.0),
               sample(1, START, 30.0), sample(5, START, 99.0), sample(0, START, 99.0, server="other")]
    usage = attribute(samples, [before, current])
    assert usage[before.id].samples == 1
    assert usage[current.id].samples == 2
    assert usage[current.id].utilization_pct == pytest.approx(25.0)


def test_samples_after_a_reclaim_are_not_the_allocations_any_more() -> None:
    allocation = an_allocation()
    allocation.end(START + timedelta(hours=1))
    samples = [sample(0, START + timedelta(minutes=59), 10.0), sample(0, START + timedelta(hours=1), 10.0)]
    usage = attribute(samples, [allocation])
    assert usage[allocation.id].samples == 1


def test_samples_of_a_gpu_nobody_holds_are_attributed_to_no_one() -> None:
    assert attribute([sample(0, START, 10.0)], []) == {}
