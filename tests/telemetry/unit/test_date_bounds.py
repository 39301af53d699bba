"""Telemetry's windows and grace periods never overflow: a window reaching back past the calendar's start begins at
it, and a grace period past its end never runs out."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.bounds import EARLIEST_TIME, LATEST_TIME
from telemetry.domain.model import (
    Allocation,
    Ladder,
    Measured,
    Policy,
    Rule,
    Slot,
    Step,
    StepTaken,
    shifted,
    shifted_seconds,
)

instants = st.datetimes(min_value=EARLIEST_TIME.replace(tzinfo=None), max_value=LATEST_TIME.replace(tzinfo=None),
                        timezones=st.just(UTC))
FIRST, LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


def spanning(starts_at: datetime, ends_at: datetime) -> Allocation:
    return Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=2, starts_at=starts_at,
                      ends_at=ends_at, planned_gpu_hours_per_month=730, slots=[Slot("s", 0), Slot("s", 1)])


def idle_week(allocation: Allocation, end: datetime) -> Measured:
    return Measured(start=end - timedelta(days=7), end=end, gpus=allocation.gpus,
                    reserved_gpu_hours=allocation.gpus * 168.0, samples=allocation.gpus * 168 * 60,
                    utilization_pct_sum=0.0, in_use_samples=0, sample_interval_s=60)


@settings(max_examples=300, deadline=None)
@given(at=instants, days=st.integers(min_value=-10**12, max_value=10**12))
def test_shifting_a_bounded_instant_by_any_days_stays_in_the_calendar(at: datetime, days: int) -> None:
    moved = shifted(at, days)
    assert moved.tzinfo is not None
    assert (moved >= at) == (days >= 0)


@settings(max_examples=300, deadline=None)
@given(end=instants, days=st.integers(min_value=0, max_value=10**12))
def test_a_window_of_any_days_lies_within_the_allocation_and_its_days(end: datetime, days: int) -> None:
    allocation = spanning(EARLIEST_TIME, LATEST_TIME)
    start, until = allocation.window_of(end, days)
    assert allocation.starts_at <= start <= until == end
    assert (end - start).total_seconds() <= max(days * 86_400, 3600)  # a window of 0 days is its hour so far
    assert allocation.reserved_gpu_hours(start, until) >= 0.0


def test_a_window_longer_than_the_calendar_starts_at_its_first_whole_hour() -> None:
    allocation = spanning(FIRST, LAST)
    assert allocation.window_of(LATEST_TIME, 10**9) == (FIRST + timedelta(hours=1), LATEST_TIME)
    assert allocation.window_of(EARLIEST_TIME, 10**6)[0] == FIRST + timedelta(hours=1)
    assert spanning(EARLIEST_TIME, LATEST_TIME).window_of(LATEST_TIME, 10**9)[0] == EARLIEST_TIME


def test_a_grace_period_past_the_calendar_end_never_runs_out() -> None:
    assert shifted(LATEST_TIME, 10**7) == LAST
    allocation = spanning(EARLIEST_TIME, LATEST_TIME)
    low = allocation.finding(Rule.MEAN_BELOW_PLAN, idle_week(allocation, LATEST_TIME), Policy())
    assert allocation.evaluate([low], Policy(grace_days=10**7)) == [StepTaken(Step.WARNING, LATEST_TIME, low)]
    assert allocation.evaluate([low], Policy(grace_days=10**7)) == []  # warned at the end of time: no reclaim
    assert allocation.ladder is Ladder.WARNED


def test_a_waiver_in_the_calendar_s_last_hour_is_judged_from_its_last_instant() -> None:
    assert shifted_seconds(LAST, 3600) == LAST
    allocation = spanning(FIRST, LAST)
    allocation.waive(LAST)
    assert allocation.judged_from == LAST
