"""An hour of use as the API and billing see it: busy GPU-hours over the GPU-hours the samples cover, coverage,
memory and energy, worked out by hand."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from telemetry.domain.model import Allocation, Slot
from telemetry.domain.rollups import HourFigures, HourUsage, allocation_figures, figures

HOUR = datetime(2026, 12, 1, 10, tzinfo=UTC)


def usage(samples: int, utilization_pct: float, **overrides: Any) -> HourUsage:
    hour = HourUsage(hour=HOUR, samples=samples, utilization_pct_sum=utilization_pct * samples, memory_mib_sum=0.0,
                     memory_samples=0, power_w_sum=0.0, power_samples=0, last_ts=HOUR + timedelta(minutes=59),
                     utilization_pct_p95=None, closed=False)
    return replace(hour, **overrides)


def an_allocation(starts_at: datetime, ends_at: datetime) -> Allocation:
    return Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=4, starts_at=starts_at,
                      ends_at=ends_at, planned_gpu_hours_per_month=2000,
                      slots=[Slot("p3-gov-01", i, "gov") for i in range(4)])


def test_an_hour_of_four_gpus_three_quarters_reported() -> None:
    hour = usage(180, 50.0, memory_mib_sum=90 * 40960.0, memory_samples=90, power_w_sum=120 * 300.0,
                 power_samples=120, utilization_pct_p95=80.0, closed=True)
    # 180 samples * 60 s = 3 GPU-hours of 4 reserved; 50% of 3 = 1.5 busy; 300 W * 3 h = 0.9 kWh
    assert figures(hour, 4.0, 60) == HourFigures(
        hour=HOUR, reserved_gpu_hours=4.0, busy_gpu_hours=pytest.approx(1.5), coverage=pytest.approx(0.75),
        utilization_pct=pytest.approx(50.0), utilization_pct_p95=80.0, memory_used_mib=pytest.approx(40960.0),
        energy_kwh=pytest.approx(0.9), samples=180, closed=True)


def test_missing_samples_are_neither_idle_nor_busy() -> None:
    half = figures(usage(120, 60.0), 4.0, 60)  # 2 GPU-hours reported of 4
    assert (half.busy_gpu_hours, half.coverage) == (pytest.approx(1.2), pytest.approx(0.5))  # not 60% * 4 = 2.4


def test_busy_gpu_hours_never_exceed_those_reserved() -> None:
    over = figures(usage(300, 50.0), 4.0, 60)  # 5 GPU-hours reported of 4
    assert (over.busy_gpu_hours, over.coverage) == (pytest.approx(2.0), 1.0)


def test_each_sample_stands_for_one_sample_interval() -> None:
    hour = usage(240, 50.0)
    assert hour.reported_hours(30) == pytest.approx(2.0)
    assert figures(hour, 4.0, 30).busy_gpu_hours == pytest.approx(1.0)
    assert figures(hour, 4.0, 30).coverage == pytest.approx(0.5)


def test_a_gpu_s_hour_fully_reported() -> None:
    gpu_hour = figures(usage(60, 87.0), 1.0, 60)
    assert (gpu_hour.busy_gpu_hours, gpu_hour.coverage) == (pytest.approx(0.87), pytest.approx(1.0))


def test_energy_is_the_mean_draw_of_the_samples_that_carried_it_over_the_hours_covered() -> None:
    hour = usage(60, 10.0, power_w_sum=30 * 400.0, power_samples=30)
    assert figures(hour, 1.0, 60).energy_kwh == pytest.approx(0.4)  # 400 W for the one GPU-hour the 60 samples cover
    assert figures(usage(60, 10.0), 1.0, 60).energy_kwh is None


def test_samples_more_often_than_the_interval_draw_no_more_energy() -> None:
    # 240 samples of one GPU in an hour (every 15 s) at 400 W, counted at 60 s each: 4 hours reported, 1 covered
    hour = usage(240, 10.0, power_w_sum=240 * 400.0, power_samples=240)
    assert figures(hour, 1.0, 60).energy_kwh == pytest.approx(0.4)


def test_memory_is_the_mean_of_the_samples_that_carried_it() -> None:
    assert usage(60, 10.0, memory_mib_sum=1024.0 + 3072.0, memory_samples=2).memory_used_mib == pytest.approx(2048.0)
    assert usage(60, 10.0).memory_used_mib is None


def test_an_hour_without_samples_or_without_reserved_time_covers_nothing() -> None:
    empty = figures(usage(0, 0.0), 4.0, 60)
    assert (empty.utilization_pct, empty.busy_gpu_hours, empty.coverage, empty.energy_kwh) == (0.0, 0.0, 0.0, None)
    outside = figures(usage(60, 50.0), 0.0, 60)
    assert (outside.busy_gpu_hours, outside.coverage) == (0.0, 0.0)


def test_an_allocation_s_hour_is_reserved_only_within_its_period() -> None:
    allocation = an_allocation(HOUR + timedelta(minutes=30), HOUR + timedelta(hours=2, minutes=15))
    first = allocation_figures(allocation, usage(120, 25.0), 60)  # from 10:30: 4 * 0.5 = 2 GPU-hours reserved
    assert (first.reserved_gpu_hours, first.coverage, first.busy_gpu_hours) == (2.0, 1.0, pytest.approx(0.5))
    whole = allocation_figures(allocation, usage(240, 25.0, hour=HOUR + timedelta(hours=1)), 60)
    assert (whole.reserved_gpu_hours, whole.coverage, whole.busy_gpu_hours) == (4.0, 1.0, pytest.approx(1.0))
    last = allocation_figures(allocation, usage(60, 25.0, hour=HOUR + timedelta(hours=2)), 60)  # to 12:15
    assert (last.reserved_gpu_hours, last.coverage) == (1.0, 1.0)
    allocation.end(HOUR + timedelta(hours=1))
    after = allocation_figures(allocation, usage(60, 25.0, hour=HOUR + timedelta(hours=1)), 60)
    assert (after.reserved_gpu_hours, after.busy_gpu_hours, after.coverage) == (0.0, 0.0, 0.0)
