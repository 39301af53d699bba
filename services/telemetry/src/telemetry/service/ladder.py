"""Judging an allocation on its rollups: the reclaim policy's rules over their windows, the ladder's steps with
their events and history, and the telemetry alerts when too little arrived to judge."""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from contracts import TelemetryStale, UtilizationDropped, UtilizationRecovered
from telemetry.domain.model import Allocation, Finding, Measured, Policy, Rule, Step, StepTaken, hour_of
from telemetry.service.unit_of_work import TelemetryUnitOfWork

log = logging.getLogger(__name__)
MAX_CSPS_NAMED = 64  # TelemetryStale's bound: an allocation spans a few CSPs at most


async def measure(allocations: Sequence[Allocation], ends: Mapping[UUID, datetime], uow: TelemetryUnitOfWork,
                  policy: Policy) -> dict[UUID, list[Measured]]:
    """Each allocation's window of each rule switched on, ending at its newest sample (`ends`), summed from its
    hours in one query for all of them; an allocation without a sample is left out."""
    asked = [(allocation, rule, *allocation.window_of(ends[allocation.id], policy.window_days_of(rule)))
             for allocation in allocations if allocation.id in ends for rule in policy.rules_in_order]
    sums = await uow.usage.sums([(allocation.id, hour_of(start), hour_of(end))
                                 for allocation, _, start, end in asked])
    measured: dict[UUID, list[Measured]] = defaultdict(list)
    for (allocation, _, start, end), total in zip(asked, sums, strict=True):
        measured[allocation.id].append(Measured(
            start=start, end=end, gpus=allocation.gpus, reserved_gpu_hours=allocation.reserved_gpu_hours(start, end),
            samples=total.samples, utilization_pct_sum=total.utilization_pct_sum,
            in_use_samples=total.in_use_samples, sample_interval_s=policy.sample_interval_s))
    return measured


async def evaluate(allocations: Sequence[Allocation], uow: TelemetryUnitOfWork, policy: Policy) -> int:
    """Judge each allocation on the ladder on each rule whose window has enough data; returns how many are on it.

    A window long enough to judge whose samples fall short of the coverage is not judged: the allocation is
    flagged stale (an alert for its CSPs), and the flag is lifted once a window is judged again."""
    judged = [a for a in allocations if a.is_evaluated and policy.monitors(a.program)]
    ends = await uow.usage.newest([a.id for a in judged])
    measured = await measure(judged, ends, uow, policy)
    for allocation in judged:
        if allocation.id in ends:
            await _judge(allocation, measured[allocation.id], ends[allocation.id], uow, policy)
    return len(judged)


async def _judge(allocation: Allocation, measured: list[Measured], end: datetime, uow: TelemetryUnitOfWork,
                 policy: Policy) -> None:
    findings = [allocation.finding(rule, m, policy) for rule, m in zip(policy.rules_in_order, measured, strict=True)
                if policy.judgeable(m)]
    thin = [m for m in measured if m.hours >= policy.min_judged_hours and m.coverage < policy.min_coverage]
    taken = allocation.evaluate(findings, policy)
    if thin and not findings:
        worst = min(thin, key=lambda m: m.coverage)
        if alert := allocation.went_stale(end, f"{worst.coverage:.0%} of the expected samples arrived over "
                                               f"{worst.hours:.0f} h, under the {policy.min_coverage:.0%} "
                                               "needed to judge: not judged"):
            taken.append(alert)
            await uow.outbox.add(_stale(allocation, "low_coverage", end, worst.coverage, end))
    elif findings and (fresh := allocation.went_fresh(end)):
        taken.insert(0, fresh)
    if taken:
        await record(allocation, taken, uow, policy)


async def record(allocation: Allocation, taken: list[StepTaken], uow: TelemetryUnitOfWork, policy: Policy) -> None:
    await uow.allocations.save(allocation)
    for step in taken:
        await uow.steps.add(allocation.id, step)
        if step.finding is not None and step.step in (Step.WARNING, Step.RECLAIM):
            await uow.outbox.add(_dropped(allocation, step.step, step.finding, policy))
        elif step.finding is not None and step.step is Step.RECOVERED:
            m = step.finding.measured
            await uow.outbox.add(UtilizationRecovered(
                application_id=allocation.application_id, allocation_id=allocation.id,
                utilization_pct=m.utilization_pct, threshold_pct=allocation.threshold_pct(policy),
                window_start=m.start, window_end=m.end))
        log.info("allocation %s: %s (%s)", allocation.id, step.step, step.reason or
                 (step.finding.describe() if step.finding else ""))


async def flag_silent(allocation: Allocation, now: datetime, uow: TelemetryUnitOfWork, policy: Policy) -> bool:
    last = (await uow.usage.newest([allocation.id])).get(allocation.id)
    quiet = f"no sample since {last.isoformat()}" if last else "no sample since the allocation started"
    alert = allocation.went_stale(now, f"{quiet} ({timedelta(seconds=policy.stale_after_s)} allowed): not judged "
                                       "on what did not arrive")
    if alert is None:
        return False
    await record(allocation, [alert], uow, policy)
    await uow.outbox.add(_stale(allocation, "silent", last, None, now))
    return True


def _stale(allocation: Allocation, reason: str, last: datetime | None, coverage: float | None,
           at: datetime) -> TelemetryStale:
    return TelemetryStale.model_validate({
        "application_id": allocation.application_id, "allocation_id": allocation.id,
        "csps": allocation.csps[:MAX_CSPS_NAMED],
        "reason": reason, "last_sample_at": last, "coverage": coverage, "detected_at": at})


def _dropped(allocation: Allocation, step: Step, finding: Finding, policy: Policy) -> UtilizationDropped:
    m = finding.measured
    hours = finding.rule is Rule.GPU_HOURS_BELOW_PLAN
    return UtilizationDropped(
        application_id=allocation.application_id, allocation_id=allocation.id,
        level="warning" if step is Step.WARNING else "reclaim", rule=finding.rule.value,
        utilization_pct=m.utilization_pct, threshold_pct=allocation.threshold_pct(policy),
        actual_gpu_hours=finding.value if hours else m.actual_gpu_hours(policy.hours_basis),
        planned_gpu_hours=finding.planned_gpu_hours,
        required_gpu_hours=finding.limit if hours else policy.hours_ratio * finding.planned_gpu_hours,
        coverage=m.coverage, window_start=m.start, window_end=m.end)
