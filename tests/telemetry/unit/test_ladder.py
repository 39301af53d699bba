"""The reclaim ladder: none → warned → reclaim_requested, moved by the rules' findings; a waiver starts it over and
the telemetry alerts flag an allocation whose samples stopped, all without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from telemetry.domain.model import (
    Allocation,
    Finding,
    Ladder,
    Measured,
    Policy,
    Rule,
    Slot,
    Step,
    StepTaken,
)

START = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = Policy(warn_ratio=0.30, window_days=7, hours_ratio=0.50, grace_days=7, sample_interval_s=60)


def an_allocation(**overrides: Any) -> Allocation:
    """4 GPUs planned at 2000 GPU-hours a month: a mean below 0.30 * 68.49% = 20.55% is a drop."""
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=4, starts_at=START,
                            ends_at=START + timedelta(days=90), planned_gpu_hours_per_month=2000,
                            slots=[Slot("p3-gov-01", i, "gov") for i in range(4)])
    return replace(allocation, **overrides)


def at(day: float) -> datetime:
    return START + timedelta(days=day)


def measured(utilization_pct: float, end: datetime, days: int = 7, gpus: int = 4) -> Measured:
    samples = gpus * days * 24 * 60
    return Measured(start=end - timedelta(days=days), end=end, gpus=gpus, reserved_gpu_hours=gpus * days * 24.0,
                    samples=samples, utilization_pct_sum=utilization_pct * samples, in_use_samples=samples,
                    sample_interval_s=60)


def mean(allocation: Allocation, utilization_pct: float, *, day: float) -> Finding:
    return allocation.finding(Rule.MEAN_BELOW_PLAN, measured(utilization_pct, at(day)), POLICY)


def hours(allocation: Allocation, utilization_pct: float, *, day: float) -> Finding:
    """The GPU-hours rule over 14 days: below a mean of 34.25% the busy GPU-hours fall short of 460.27."""
    return allocation.finding(Rule.GPU_HOURS_BELOW_PLAN, measured(utilization_pct, at(day), days=14), POLICY)


def steps(taken: list[StepTaken]) -> list[Step]:
    return [t.step for t in taken]


def test_the_planned_utilization_is_planned_hours_over_all_the_gpu_hours_of_a_month() -> None:
    assert an_allocation(gpus=4, planned_gpu_hours_per_month=2000).planned_pct == pytest.approx(68.49, abs=0.005)


def test_the_planned_utilization_never_exceeds_one_hundred_percent() -> None:
    assert an_allocation(gpus=1, planned_gpu_hours_per_month=1000).planned_pct == 100.0
    assert an_allocation(gpus=1, planned_gpu_hours_per_month=730).planned_pct == pytest.approx(100.0)


def test_the_threshold_is_the_warn_ratio_of_the_plan() -> None:
    assert an_allocation().threshold_pct(POLICY) == pytest.approx(20.55, abs=0.005)
    allocation = an_allocation(gpus=8, planned_gpu_hours_per_month=2920)
    assert allocation.planned_pct == pytest.approx(50.0)
    assert allocation.threshold_pct(POLICY) == pytest.approx(15.0)
    assert allocation.threshold_pct(Policy(warn_ratio=0.5)) == pytest.approx(25.0)


def test_a_first_drop_is_a_warning_stamped_with_the_window_end() -> None:
    allocation = an_allocation()
    low = mean(allocation, 10.0, day=3)
    assert allocation.evaluate([low], POLICY) == [StepTaken(Step.WARNING, at(3), low)]
    assert (allocation.ladder, allocation.warned_at) == (Ladder.WARNED, at(3))


def test_utilization_at_the_threshold_is_not_a_drop() -> None:
    allocation = an_allocation(gpus=8, planned_gpu_hours_per_month=2920)  # threshold exactly 15%
    finding = allocation.finding(Rule.MEAN_BELOW_PLAN, measured(15.0, at(3), gpus=8), POLICY)
    assert allocation.evaluate([finding], POLICY) == []
    assert allocation.ladder is Ladder.NONE


def test_short_on_either_rule_is_a_drop_named_by_the_rule_that_fell_short() -> None:
    allocation = an_allocation()
    fine, short = mean(allocation, 30.0, day=15), hours(allocation, 30.0, day=15)  # 403.2 < 460.27 GPU-hours
    taken = allocation.evaluate([fine, short], POLICY)
    assert taken == [StepTaken(Step.WARNING, at(15), short)]
    assert taken[0].finding is not None and taken[0].finding.rule is Rule.GPU_HOURS_BELOW_PLAN


def test_a_warned_allocation_still_low_within_the_grace_period_is_not_warned_again() -> None:
    allocation = an_allocation()
    allocation.evaluate([mean(allocation, 10.0, day=3)], POLICY)
    assert allocation.evaluate([mean(allocation, 10.0, day=9.99)], POLICY) == []
    assert (allocation.ladder, allocation.warned_at) == (Ladder.WARNED, at(3))


def test_the_reclaim_comes_once_the_grace_period_has_run_without_recovery() -> None:
    allocation = an_allocation()
    allocation.evaluate([mean(allocation, 10.0, day=3)], POLICY)
    still_low = mean(allocation, 10.0, day=10)
    assert allocation.evaluate([still_low], POLICY) == [StepTaken(Step.RECLAIM, at(10), still_low)]
    assert allocation.ladder is Ladder.RECLAIM_REQUESTED


def test_without_a_grace_period_the_first_drop_is_a_warning_and_the_reclaim_at_once() -> None:
    allocation = an_allocation()
    low = mean(allocation, 10.0, day=3)
    assert allocation.evaluate([low], Policy(grace_days=0)) == [StepTaken(Step.WARNING, at(3), low),
                                                                  StepTaken(Step.RECLAIM, at(3), low)]
    assert (allocation.ladder, allocation.warned_at) == (Ladder.RECLAIM_REQUESTED, at(3))


def test_once_a_reclaim_is_requested_nothing_more_is_said() -> None:
    allocation = an_allocation()
    allocation.evaluate([mean(allocation, 10.0, day=3)], Policy(grace_days=0))
    assert not allocation.is_evaluated
    assert allocation.evaluate([mean(allocation, 10.0, day=20)], POLICY) == []
    assert allocation.evaluate([mean(allocation, 90.0, day=21)], POLICY) == []
    assert allocation.ladder is Ladder.RECLAIM_REQUESTED


def test_recovery_during_the_grace_period_resets_the_ladder_and_a_new_drop_starts_it_over() -> None:
    allocation = an_allocation()
    allocation.evaluate([mean(allocation, 10.0, day=3)], POLICY)
    back = mean(allocation, 60.0, day=5)
    assert allocation.evaluate([back], POLICY) == [StepTaken(Step.RECOVERED, at(5), back)]
    assert (allocation.ladder, allocation.warned_at) == (Ladder.NONE, None)
    assert allocation.evaluate([mean(allocation, 60.0, day=6)], POLICY) == []  # nothing to recover from
    assert steps(allocation.evaluate([mean(allocation, 10.0, day=11)], POLICY)) == [Step.WARNING]
    assert allocation.warned_at == at(11)
    assert allocation.evaluate([mean(allocation, 10.0, day=17.9)], POLICY) == []  # the grace runs from day 11
    assert steps(allocation.evaluate([mean(allocation, 10.0, day=18)], POLICY)) == [Step.RECLAIM]


def test_recovery_needs_every_judged_rule_back() -> None:
    allocation = an_allocation()
    allocation.evaluate([hours(allocation, 30.0, day=15)], POLICY)
    assert allocation.evaluate([mean(allocation, 30.0, day=16), hours(allocation, 30.0, day=16)], POLICY) == []
    assert allocation.ladder is Ladder.WARNED
    back = [mean(allocation, 40.0, day=17), hours(allocation, 40.0, day=17)]  # 537.6 ≥ 460.27 GPU-hours
    assert allocation.evaluate(back, POLICY) == [StepTaken(Step.RECOVERED, at(17), back[0])]


def test_nothing_judged_moves_nothing() -> None:
    allocation = an_allocation()
    allocation.evaluate([mean(allocation, 10.0, day=3)], POLICY)
    assert allocation.evaluate([], POLICY) == []
    assert (allocation.ladder, allocation.warned_at) == (Ladder.WARNED, at(3))


def test_the_steps_are_stamped_with_the_newest_window_end() -> None:
    allocation = an_allocation()
    older, newer = mean(allocation, 10.0, day=3), hours(allocation, 10.0, day=4)
    assert allocation.evaluate([older, newer], POLICY) == [StepTaken(Step.WARNING, at(4), older)]


def test_an_ended_allocation_is_not_evaluated() -> None:
    allocation = an_allocation()
    allocation.end(at(2))
    allocation.end(at(5))  # the first end holds
    assert allocation.ended_at == at(2)
    assert allocation.evaluate([mean(allocation, 0.0, day=3)], POLICY) == []
    assert allocation.ladder is Ladder.NONE
    assert allocation.until == at(2)


def test_a_waiver_puts_a_requested_reclaim_back_to_none_and_the_ladder_runs_again() -> None:
    allocation = an_allocation()
    allocation.evaluate([mean(allocation, 10.0, day=3)], Policy(grace_days=0))
    waived_at = at(4) + timedelta(minutes=20)
    taken = allocation.waive(waived_at)
    assert taken is not None and (taken.step, taken.at, taken.finding) == (Step.WAIVED, waived_at, None)
    assert "waived" in taken.reason
    assert (allocation.ladder, allocation.warned_at, allocation.waived_at) == (Ladder.NONE, None, waived_at)
    assert allocation.is_evaluated
    assert steps(allocation.evaluate([mean(allocation, 10.0, day=6)], POLICY)) == [Step.WARNING]


def test_after_a_waiver_usage_is_judged_from_the_next_whole_hour() -> None:
    allocation = an_allocation()
    assert allocation.judged_from == START
    allocation.waive(at(4) + timedelta(hours=10, minutes=20))
    assert allocation.judged_from == at(4) + timedelta(hours=11)
    start, _ = allocation.window_of(at(8), 7)
    assert start == at(4) + timedelta(hours=11)  # not day 1, 01:00: the waived shortfall is not judged twice
    assert allocation.window_of(at(20), 7)[0] == at(13) + timedelta(hours=1)


def test_a_waiver_on_the_hour_is_judged_from_that_hour() -> None:
    allocation = an_allocation()
    allocation.waive(at(4) + timedelta(hours=10))
    assert allocation.judged_from == at(4) + timedelta(hours=10)


def test_a_waiver_before_the_allocation_starts_judges_it_from_its_start() -> None:
    allocation = an_allocation(starts_at=START + timedelta(minutes=30))
    allocation.waive(START - timedelta(days=1))
    assert allocation.judged_from == START + timedelta(minutes=30)


def test_an_older_waiver_or_the_same_one_again_is_ignored() -> None:
    allocation = an_allocation()
    assert allocation.waive(at(5)) is not None
    allocation.evaluate([mean(allocation, 10.0, day=7)], POLICY)
    assert allocation.waive(at(4)) is None
    assert allocation.waive(at(5)) is None
    assert (allocation.waived_at, allocation.ladder) == (at(5), Ladder.WARNED)
    assert allocation.waive(at(8)) is not None
    assert (allocation.waived_at, allocation.ladder) == (at(8), Ladder.NONE)


def test_an_ended_allocation_cannot_be_waived() -> None:
    allocation = an_allocation()
    allocation.end(at(2))
    assert allocation.waive(at(3)) is None
    assert allocation.waived_at is None


def test_an_allocation_goes_stale_once_and_fresh_once() -> None:
    allocation = an_allocation()
    assert allocation.went_fresh(at(1)) is None  # never stale
    stale = allocation.went_stale(at(2), "no sample since 2026-12-02")
    assert stale == StepTaken(Step.STALE, at(2), reason="no sample since 2026-12-02")
    assert allocation.stale_since == at(2)
    assert allocation.went_stale(at(3), "still nothing") is None
    assert allocation.stale_since == at(2)
    fresh = allocation.went_fresh(at(4))
    assert fresh == StepTaken(Step.FRESH, at(4), reason="samples arrive again")
    assert allocation.stale_since is None
    assert allocation.went_fresh(at(5)) is None
    assert allocation.ladder is Ladder.NONE  # an alert, not a step of the ladder
