"""The reclaim policy's two rules worked out by hand: the mean utilization against a share of the planned
utilization, the actual GPU-hours against a share of the planned GPU-hours, and when a window has enough data to be
judged at all."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from telemetry.domain.model import Allocation, HoursBasis, Measured, Policy, Rule, Slot

START = datetime(2026, 12, 1, tzinfo=UTC)
END = START + timedelta(days=20)
POLICY = Policy()  # warn_ratio 0.30 over 7 days, hours_ratio 0.50 over 14 days on the busy basis, 60 s samples


def an_allocation(**overrides: Any) -> Allocation:
    """4 GPUs planned at 2000 GPU-hours a month: 2000 / (4 * 730) = 68.49% planned, 20.55% the mean rule's line."""
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=4, starts_at=START,
                            ends_at=START + timedelta(days=90), planned_gpu_hours_per_month=2000,
                            slots=[Slot("p3-gov-01", i, "gov") for i in range(4)])
    return replace(allocation, **overrides)


def fortnight(*, samples: int = 80_640, utilization_pct: float = 30.0, in_use_samples: int = 0,
              sample_interval_s: int = 60) -> Measured:
    """14 days of 4 GPUs: 4 * 336 = 1344 reserved GPU-hours, 1344 * 60 = 80,640 samples a minute apart."""
    return Measured(start=END - timedelta(days=14), end=END, gpus=4, reserved_gpu_hours=1344.0, samples=samples,
                    utilization_pct_sum=utilization_pct * samples, in_use_samples=in_use_samples,
                    sample_interval_s=sample_interval_s)


def week(utilization_pct: float, *, gpus: int = 4) -> Measured:
    """7 days of full coverage: gpus * 168 reserved GPU-hours, one sample a minute for each."""
    samples = gpus * 168 * 60
    return Measured(start=END - timedelta(days=7), end=END, gpus=gpus, reserved_gpu_hours=gpus * 168.0,
                    samples=samples, utilization_pct_sum=utilization_pct * samples, in_use_samples=samples,
                    sample_interval_s=60)


def test_a_fortnight_of_four_gpus_is_336_hours_fully_covered() -> None:
    measured = fortnight()
    assert measured.hours == pytest.approx(336.0)
    assert measured.coverage == pytest.approx(1.0)  # 80,640 * 60 / 3600 = 1344 of 1344 GPU-hours
    assert measured.utilization_pct == pytest.approx(30.0)


def test_busy_gpu_hours_short_of_half_the_plan_fall_short_while_the_mean_rule_holds() -> None:
    allocation = an_allocation()
    hours = allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, fortnight(utilization_pct=30.0), POLICY)
    # planned: 2000 * 336 / 730 = 920.55; required: 0.5 * 920.55 = 460.27; actual: 30% * 1344 = 403.2
    assert hours.planned_gpu_hours == pytest.approx(920.55, abs=0.005)
    assert hours.limit == pytest.approx(460.27, abs=0.005)
    assert hours.value == pytest.approx(403.2)
    assert hours.short
    mean = allocation.finding(Rule.MEAN_BELOW_PLAN, week(30.0), POLICY)
    assert (mean.value, mean.limit) == (pytest.approx(30.0), pytest.approx(20.55, abs=0.005))
    assert not mean.short  # 30% ≥ 0.30 * 68.49% = 20.55%


def test_busy_gpu_hours_at_or_above_the_required_share_are_not_short() -> None:
    allocation = an_allocation()
    # 460.274 required of 1344 reserved: a mean of 34.25% gives 460.32 GPU-hours, 34.24% gives 460.19
    assert not allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, fortnight(utilization_pct=34.25), POLICY).short
    assert allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, fortnight(utilization_pct=34.24), POLICY).short


def test_the_mean_rule_falls_short_below_the_warn_ratio_of_the_plan() -> None:
    allocation = an_allocation()
    finding = allocation.finding(Rule.MEAN_BELOW_PLAN, week(20.5), POLICY)
    assert finding.rule is Rule.MEAN_BELOW_PLAN
    assert finding.short  # 20.5% < 20.55%
    assert not allocation.finding(Rule.MEAN_BELOW_PLAN, week(20.6), POLICY).short
    # the mean rule's finding still carries the planned GPU-hours of its window: 2000 * 168 / 730 = 460.27
    assert finding.planned_gpu_hours == pytest.approx(460.27, abs=0.005)


def test_a_mean_exactly_at_the_threshold_is_not_short() -> None:
    allocation = an_allocation(gpus=8, planned_gpu_hours_per_month=2920)  # 50% planned, 15% the line
    finding = allocation.finding(Rule.MEAN_BELOW_PLAN, week(15.0, gpus=8), POLICY)
    assert (finding.value, finding.limit, finding.short) == (pytest.approx(15.0), pytest.approx(15.0), False)


def test_on_the_in_use_basis_every_sample_of_a_gpu_in_use_counts_whole() -> None:
    allocation = an_allocation()
    in_use = Policy(hours_basis=HoursBasis.IN_USE)
    # in use 40% of the samples though only 30% busy on average: 0.40 * 1344 = 537.6 ≥ 460.27
    measured = fortnight(utilization_pct=30.0, in_use_samples=32_256)
    assert measured.actual_gpu_hours(HoursBasis.IN_USE) == pytest.approx(537.6)
    assert measured.actual_gpu_hours(HoursBasis.BUSY) == pytest.approx(403.2)
    finding = allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, measured, in_use)
    assert (finding.value, finding.short) == (pytest.approx(537.6), False)
    # in use a third of the samples: 26,880 / 80,640 * 1344 = 448 < 460.27
    thin = allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, fortnight(in_use_samples=26_880), in_use)
    assert (thin.value, thin.short) == (pytest.approx(448.0), True)


def test_the_required_share_of_the_plan_is_a_setting() -> None:
    allocation = an_allocation()
    finding = allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, fortnight(utilization_pct=30.0),
                                 Policy(hours_ratio=0.40))
    assert finding.limit == pytest.approx(368.22, abs=0.005)  # 0.4 * 920.55
    assert not finding.short  # 403.2 ≥ 368.22


def test_the_planned_gpu_hours_of_a_window_never_exceed_those_reserved() -> None:
    allocation = an_allocation(gpus=1, planned_gpu_hours_per_month=1000)  # 1000 * 168 / 730 = 230.1 > 168
    finding = allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, week(40.0, gpus=1), POLICY)
    assert (finding.planned_gpu_hours, finding.limit) == (pytest.approx(168.0), pytest.approx(84.0))
    assert finding.value == pytest.approx(67.2)  # 40% * 168
    assert finding.short


def test_the_mean_of_the_samples_that_arrived_stands_for_the_whole_reserved_time() -> None:
    measured = fortnight(samples=64_512, utilization_pct=30.0)  # 80% of the expected samples
    assert measured.coverage == pytest.approx(0.8)
    assert measured.actual_gpu_hours(HoursBasis.BUSY) == pytest.approx(403.2)  # missing is not idle: 30% * 1344


def test_coverage_is_the_share_of_the_expected_samples_at_most_one() -> None:
    assert fortnight(samples=60_480).coverage == pytest.approx(0.75)
    assert fortnight(samples=161_280).coverage == 1.0  # twice the samples expected
    assert fortnight(samples=80_640, sample_interval_s=30).coverage == pytest.approx(0.5)  # 160,320 expected
    assert fortnight(samples=0).coverage == 0.0
    nothing_reserved = replace(fortnight(), reserved_gpu_hours=0.0)
    assert (nothing_reserved.coverage, nothing_reserved.hours) == (0.0, 0.0)
    assert replace(fortnight(), gpus=0).hours == 0.0


def test_a_window_without_samples_has_no_utilization_and_no_gpu_hours() -> None:
    empty = fortnight(samples=0)
    assert empty.utilization_pct == 0.0
    assert (empty.actual_gpu_hours(HoursBasis.BUSY), empty.actual_gpu_hours(HoursBasis.IN_USE)) == (0.0, 0.0)


def test_a_window_is_judged_only_with_enough_of_its_samples() -> None:
    assert POLICY.judgeable(fortnight(samples=60_480))  # exactly 75%
    assert not POLICY.judgeable(fortnight(samples=60_479))
    assert Policy(min_coverage=0.5).judgeable(fortnight(samples=40_320))
    assert not POLICY.judgeable(fortnight(samples=0))


def test_a_window_is_judged_only_after_a_day_of_reserved_time() -> None:
    def hours_of(hours: int) -> Measured:
        samples = 4 * hours * 60
        return Measured(start=END - timedelta(hours=hours), end=END, gpus=4, reserved_gpu_hours=4.0 * hours,
                        samples=samples, utilization_pct_sum=0.0, in_use_samples=0, sample_interval_s=60)

    assert not POLICY.judgeable(hours_of(23))
    assert POLICY.judgeable(hours_of(24))
    assert Policy(min_judged_hours=12).judgeable(hours_of(23))


def test_each_rule_has_its_window_and_both_are_on_by_default() -> None:
    policy = Policy(window_days=7, hours_window_days=14)
    assert (policy.window_days_of(Rule.MEAN_BELOW_PLAN), policy.window_days_of(Rule.GPU_HOURS_BELOW_PLAN)) == (7, 14)
    assert POLICY.rules == {Rule.MEAN_BELOW_PLAN, Rule.GPU_HOURS_BELOW_PLAN}
    assert POLICY.rules_in_order == [Rule.MEAN_BELOW_PLAN, Rule.GPU_HOURS_BELOW_PLAN]
    assert Policy(rules=frozenset({Rule.GPU_HOURS_BELOW_PLAN})).rules_in_order == [Rule.GPU_HOURS_BELOW_PLAN]


def test_a_finding_describes_itself_with_its_numbers() -> None:
    allocation = an_allocation()
    hours = allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, fortnight(utilization_pct=30.0), POLICY)
    assert hours.describe() == ("403.2 actual GPU-hours against 460.3 required (of 920.5 planned) over 336 h")
    mean = allocation.finding(Rule.MEAN_BELOW_PLAN, week(10.0), POLICY)
    assert mean.describe() == "mean utilization 10.0% against a threshold of 20.5% over 168 h"


def test_the_window_starts_at_the_first_whole_hour_of_its_days() -> None:
    allocation = an_allocation()
    end = START + timedelta(days=20, hours=10, minutes=30)
    start, until = allocation.window_of(end, 14)
    assert (start, until) == (START + timedelta(days=6, hours=11), end)
    assert allocation.reserved_gpu_hours(start, until) == pytest.approx(4 * 335.5)
    on_the_hour = START + timedelta(days=20, hours=10)
    assert allocation.window_of(on_the_hour, 14)[0] == START + timedelta(days=6, hours=11)  # 335 hours
    assert allocation.window_of(end, 0) == (START + timedelta(days=20, hours=10), end)


def test_a_window_reaching_back_before_the_allocation_starts_with_it() -> None:
    allocation = an_allocation(starts_at=START + timedelta(minutes=30))
    end = START + timedelta(days=3, hours=10, minutes=30)
    start, _ = allocation.window_of(end, 14)
    assert start == START + timedelta(minutes=30)
    assert allocation.reserved_gpu_hours(start, end) == pytest.approx(4 * 82.0)


def test_a_window_ending_at_an_offset_instant_starts_at_a_whole_utc_hour() -> None:
    allocation = an_allocation()
    india = timezone(timedelta(hours=5, minutes=30))
    end = datetime(2026, 12, 21, 16, 0, tzinfo=india)  # 10:30 UTC
    start, _ = allocation.window_of(end, 14)
    assert start == START + timedelta(days=6, hours=11)
    assert (start.minute, start.utcoffset()) == (0, timedelta(0))


def test_reserved_gpu_hours_count_only_the_allocations_period() -> None:
    allocation = an_allocation(ends_at=START + timedelta(days=10))
    assert allocation.reserved_gpu_hours(START - timedelta(hours=5), START + timedelta(hours=2)) == 8.0
    assert allocation.reserved_gpu_hours(START + timedelta(days=9, hours=22), START + timedelta(days=11)) == 8.0
    assert allocation.reserved_gpu_hours(START - timedelta(days=2), START - timedelta(days=1)) == 0.0
    allocation.end(START + timedelta(hours=1, minutes=30))
    assert allocation.reserved_gpu_hours(START, START + timedelta(days=1)) == pytest.approx(6.0)
