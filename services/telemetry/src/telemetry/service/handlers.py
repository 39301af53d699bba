"""Telemetry's handlers; the HANDLERS map at the bottom is the service's table of contents.

Handlers that need the ladder's numbers take a `policy` keyword, which bootstrap supplies from the settings.
"""
from __future__ import annotations

import dataclasses
import logging

from contracts import UsageRecorded, UtilizationDropped, UtilizationRecovered
from servicekit.bus import Handlers
from telemetry.domain import model
from telemetry.domain.commands import EndAllocation, RecordSamples, TrackAllocation
from telemetry.domain.errors import ServersOfAnotherCsp
from telemetry.domain.model import BatchReceipt, BatchUsage, Policy, Step, Window
from telemetry.service.unit_of_work import TelemetryUnitOfWork

log = logging.getLogger(__name__)


async def track_allocation(cmd: TrackAllocation, uow: TelemetryUnitOfWork) -> None:
    fields = {f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd) if f.name != "allocation_id"}
    fields["slots"] = list(cmd.slots)
    if not await uow.allocations.add(model.Allocation(id=cmd.allocation_id, **fields)):
        log.info("allocation %s is already tracked", cmd.allocation_id)


async def end_allocation(cmd: EndAllocation, uow: TelemetryUnitOfWork) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("reclaim of untracked allocation %s", cmd.allocation_id)
        return
    allocation.end(cmd.ended_at)
    await uow.allocations.save(allocation)


async def record_samples(cmd: RecordSamples, uow: TelemetryUnitOfWork, *, policy: Policy) -> BatchReceipt:
    owners = await uow.allocations.owners({s.server_name for s in cmd.samples})
    foreign = model.foreign_lines(cmd.samples, cmd.line_numbers, owners, cmd.csp)
    if foreign:
        raise ServersOfAnotherCsp(cmd.csp, foreign)
    new = await uow.samples.add_new(cmd.samples)
    # locked, so that two batches for one allocation are judged one after the other, each seeing the other's
    allocations = await uow.allocations.holding(new, for_update=True)
    usage = model.attribute(new, allocations)
    evaluated = 0
    for allocation in allocations:
        if allocation.id in usage:
            await uow.outbox.add(_usage_recorded(allocation, usage[allocation.id], policy))
            evaluated += await _evaluate(allocation, uow, policy)
    return BatchReceipt(accepted=len(new), duplicates=len(cmd.samples) - len(new),
                        allocations_evaluated=evaluated)


async def _evaluate(allocation: model.Allocation, uow: TelemetryUnitOfWork, policy: Policy) -> bool:
    if not allocation.is_evaluated:
        return False
    window = await uow.samples.window(allocation, days=policy.window_days)
    step = allocation.evaluate(window, policy) if window else None
    if window is None or step is None:
        return True
    await uow.allocations.save(allocation)
    if step in (Step.WARNING, Step.RECLAIM):
        await uow.outbox.add(_utilization_dropped(allocation, window, step, policy))
    elif step is Step.RECOVERED:
        await uow.outbox.add(UtilizationRecovered(
            application_id=allocation.application_id, allocation_id=allocation.id,
            utilization_pct=window.utilization_pct, threshold_pct=allocation.threshold_pct(policy),
            window_start=window.start, window_end=window.end))
    log.info("allocation %s: %s", allocation.id, step)
    return True


def _usage_recorded(allocation: model.Allocation, usage: BatchUsage, policy: Policy) -> UsageRecorded:
    return UsageRecorded(application_id=allocation.application_id, allocation_id=allocation.id,
                         window_start=usage.first_ts, window_end=usage.last_ts,
                         gpu_hours=usage.gpu_hours(policy.sample_interval_s),
                         utilization_pct=usage.utilization_pct)


def _utilization_dropped(allocation: model.Allocation, window: Window, step: Step,
                         policy: Policy) -> UtilizationDropped:
    return UtilizationDropped(application_id=allocation.application_id, allocation_id=allocation.id,
                              level="warning" if step is Step.WARNING else "reclaim",
                              utilization_pct=window.utilization_pct,
                              threshold_pct=allocation.threshold_pct(policy),
                              window_start=window.start, window_end=window.end)


HANDLERS: Handlers = {
    TrackAllocation: track_allocation,
    EndAllocation: end_allocation,
    RecordSamples: record_samples,
}
