"""An allocation's period and life cycle, without a database."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from allocation.domain import model
from allocation.domain.errors import AllocationEnded, InvalidInput

SERVER = model.Server(id=uuid4(), csp_id=uuid4(), csp="gamma-cloud", name="p3-gov-01", region="Gwangju",
                      gpu_model="H100", gpus=8, pool="P3")
PERIOD = model.allocation_period(date(2026, 12, 1), date(2027, 2, 28))


def an_allocation(gpus: int = 2) -> model.Allocation:
    return model.allocate(uuid4(), uuid4(), "P3", "H100", PERIOD, [SERVER.slot(i) for i in range(gpus)])


def test_the_period_runs_from_the_first_day_to_midnight_after_the_last_in_korea() -> None:
    # 00:00 in Korea is 15:00 UTC the day before, all year round (no summer time)
    assert PERIOD == (datetime(2026, 11, 30, 15, tzinfo=UTC), datetime(2027, 2, 28, 15, tzinfo=UTC))
    assert PERIOD[0].astimezone(model.PROGRAM_ZONE).isoformat() == "2026-12-01T00:00:00+09:00"


def test_a_moment_takes_its_day_from_koreas_calendar() -> None:
    assert model.program_day(datetime(2026, 12, 1, 14, 59, tzinfo=UTC)) == date(2026, 12, 1)
    assert model.program_day(datetime(2026, 12, 1, 15, 0, tzinfo=UTC)) == date(2026, 12, 2)
    assert model.day_start(date(2026, 12, 2)) == datetime(2026, 12, 1, 15, tzinfo=UTC)


def test_a_single_day_period_lasts_twenty_four_hours() -> None:
    starts_at, ends_at = model.allocation_period(date(2026, 12, 1), date(2026, 12, 1))
    assert ends_at - starts_at == timedelta(days=1)


def test_a_period_ending_before_it_starts_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        model.allocation_period(date(2027, 1, 2), date(2027, 1, 1))
    assert error.value.field == "period_end"


def test_the_same_gpu_twice_in_one_allocation_is_refused() -> None:
    with pytest.raises(InvalidInput):
        model.allocate(uuid4(), uuid4(), "P3", "H100", PERIOD, [SERVER.slot(0), SERVER.slot(0)])


def test_a_reclaim_inside_the_period_ends_the_allocation_then() -> None:
    allocation = an_allocation()
    at = datetime(2027, 1, 15, 12, tzinfo=UTC)
    assert allocation.reclaim("low_utilization", at) == at
    assert (allocation.status, allocation.ended_at, allocation.end_reason) == (
        model.Status.RECLAIMED, at, "low_utilization")


def test_a_reclaim_time_outside_the_period_is_clamped_into_it() -> None:
    early, late = an_allocation(), an_allocation()
    assert early.reclaim("operator", datetime(2026, 11, 1, tzinfo=UTC)) == PERIOD[0]
    assert late.reclaim("operator", datetime(2027, 6, 1, tzinfo=UTC)) == PERIOD[1]


def test_an_ended_allocation_cannot_be_reclaimed_again() -> None:
    allocation = an_allocation()
    allocation.release("withdrawn", datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(AllocationEnded):
        allocation.reclaim("operator", datetime(2027, 1, 2, tzinfo=UTC))
    assert allocation.status is model.Status.RELEASED


def test_a_warning_is_recorded_on_an_active_allocation_only() -> None:
    active, ended = an_allocation(), an_allocation()
    ended.reclaim("operator", datetime(2027, 1, 1, tzinfo=UTC))
    at = datetime(2027, 1, 10, tzinfo=UTC)
    assert active.warn(at) and active.warned_at == at
    assert not ended.warn(at) and ended.warned_at is None
