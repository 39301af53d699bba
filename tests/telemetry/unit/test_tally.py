"""A batch's samples summed per allocation and UTC hour: each goes to the allocation that held its GPU at its
instant, or to nobody."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from telemetry.domain.model import Allocation, HourTally, Sample, Slot, held_by_none, tally

START = datetime(2026, 12, 1, tzinfo=UTC)
BEFORE_ID, CURRENT_ID = UUID(int=1), UUID(int=2)  # tallies come in (allocation, hour) order


def an_allocation(allocation_id: UUID, starts_at: datetime, ends_at: datetime, gpus: int = 2) -> Allocation:
    return Allocation(id=allocation_id, application_id=UUID(int=99), program="P3", gpus=gpus, starts_at=starts_at,
                      ends_at=ends_at, planned_gpu_hours_per_month=730,
                      slots=[Slot("p3-gov-01", i, "gov") for i in range(gpus)])


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def test_samples_are_summed_per_allocation_and_hour() -> None:
    before = an_allocation(BEFORE_ID, START - timedelta(days=30), START, gpus=1)
    current = an_allocation(CURRENT_ID, START, START + timedelta(days=30))
    samples = [
        Sample("p3-gov-01", 0, at(0), 40.0, memory_used_mib=1000.0, power_w=200.0),
        Sample("p3-gov-01", 1, at(30), 4.5, power_w=100.0),
        Sample("p3-gov-01", 0, at(59) + timedelta(seconds=59), 5.0, memory_used_mib=3000.0),
        Sample("p3-gov-01", 0, at(60), 80.0),
        Sample("p3-gov-01", 0, at(-1), 99.0),  # gpu 0 was still the earlier allocation's
        Sample("p3-gov-01", 5, at(10), 70.0),  # a GPU neither holds
        Sample("p3-gov-02", 0, at(10), 70.0),  # another server
        Sample("p3-gov-01", 0, START + timedelta(days=30), 70.0),  # the current allocation's end: not its own
    ]
    assert tally(samples, [before, current], in_use_pct=5.0) == [
        HourTally(BEFORE_ID, START - timedelta(hours=1), samples=1, utilization_pct_sum=99.0, in_use_samples=1,
                  last_ts=at(-1)),
        HourTally(CURRENT_ID, START, samples=3, utilization_pct_sum=49.5, in_use_samples=2, memory_mib_sum=4000.0,
                  memory_samples=2, power_w_sum=300.0, power_samples=2, last_ts=at(59) + timedelta(seconds=59)),
        HourTally(CURRENT_ID, START + timedelta(hours=1), samples=1, utilization_pct_sum=80.0, in_use_samples=1,
                  last_ts=at(60)),
    ]


def test_a_sample_at_or_above_the_in_use_line_counts_as_in_use() -> None:
    current = an_allocation(CURRENT_ID, START, START + timedelta(days=30))
    samples = [Sample("p3-gov-01", 0, at(m), pct) for m, pct in enumerate([0.0, 9.9, 10.0, 55.0])]
    [hour] = tally(samples, [current], in_use_pct=10.0)
    assert (hour.samples, hour.in_use_samples) == (4, 2)
    [hour] = tally(samples, [current], in_use_pct=0.0)
    assert hour.in_use_samples == 4


def test_the_newest_instant_of_an_hour_is_kept_whatever_the_order() -> None:
    current = an_allocation(CURRENT_ID, START, START + timedelta(days=30))
    samples = [Sample("p3-gov-01", 0, at(40), 1.0), Sample("p3-gov-01", 1, at(50), 1.0),
               Sample("p3-gov-01", 0, at(10), 1.0)]
    [hour] = tally(samples, [current], in_use_pct=5.0)
    assert hour.last_ts == at(50)


def test_samples_after_the_gpus_were_taken_back_are_not_the_allocations_any_more() -> None:
    current = an_allocation(CURRENT_ID, START, START + timedelta(days=30))
    current.end(at(60))
    samples = [Sample("p3-gov-01", 0, at(59), 10.0), Sample("p3-gov-01", 0, at(60), 10.0)]
    [hour] = tally(samples, [current], in_use_pct=5.0)
    assert (hour.hour, hour.samples) == (START, 1)


def test_a_sample_dated_with_an_offset_counts_in_its_utc_hour() -> None:
    current = an_allocation(CURRENT_ID, START, START + timedelta(days=30))
    india = timezone(timedelta(hours=5, minutes=30))
    samples = [Sample("p3-gov-01", 0, datetime(2026, 12, 1, 5, 45, tzinfo=india), 10.0),  # 00:15 UTC
               Sample("p3-gov-01", 0, at(50), 30.0)]
    [hour] = tally(samples, [current], in_use_pct=5.0)
    assert (hour.hour, hour.samples, hour.utilization_pct_sum) == (START, 2, 40.0)
    assert hour.hour.utcoffset() == timedelta(0)


def test_samples_of_a_gpu_nobody_holds_are_summed_for_no_one() -> None:
    assert tally([Sample("p3-gov-01", 0, START, 10.0)], [], in_use_pct=5.0) == []


def test_samples_no_allocation_held_at_their_instant_are_counted() -> None:
    current = an_allocation(CURRENT_ID, START, START + timedelta(days=30), gpus=1)
    batch = [Sample("p3-gov-01", 0, START, 1.0), Sample("p3-gov-01", 1, START, 1.0),
             Sample("p3-gov-01", 0, START - timedelta(seconds=1), 1.0), Sample("p3-gov-02", 0, START, 1.0),
             Sample("p3-gov-01", 0, START + timedelta(days=30), 1.0)]
    assert held_by_none(batch, [current]) == 4
    assert held_by_none(batch, []) == 5
