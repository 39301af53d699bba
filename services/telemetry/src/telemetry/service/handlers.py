"""Telemetry's handlers; the HANDLERS map at the bottom is the service's table of contents.

Handlers that need the ladder's numbers take a `policy` keyword, which bootstrap supplies from the settings.
"""
from __future__ import annotations

import dataclasses
import logging

from contracts import UsageRecorded, UtilizationDropped, UtilizationRecovered
from servicekit.bus import Handlers
from telemetry.domain import model
from telemetry.domain.commands import EndAllocation, MapHost, OnRefused, RecordSamples, TrackAllocation, UnmapHost
from telemetry.domain.errors import HostNotMapped, SamplesFromTheFuture, ServersOfAnotherCsp
from telemetry.domain.model import BatchReceipt, BatchUsage, HostMapping, Policy, Step, Window
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
    samples = cmd.samples
    if cmd.by_hostname:
        samples = model.on_servers(samples, await uow.hosts.servers(cmd.csp, {s.server_name for s in samples}))
    latest = policy.latest_instant(cmd.received_at)
    owners = await uow.allocations.owners({s.server_name for s in samples})
    lines = cmd.line_numbers or tuple(range(1, len(samples) + 1))
    sorted_out = model.triage(samples, lines, latest=latest, owners=owners, csp=cmd.csp)
    if cmd.on_refused is OnRefused.REFUSE_BATCH:
        if sorted_out.future:
            raise SamplesFromTheFuture(latest, [(line, s.ts) for line, s in sorted_out.future])
        if sorted_out.foreign:
            raise ServersOfAnotherCsp(cmd.csp, [(line, s.server_name) for line, s in sorted_out.foreign])
    new = await uow.samples.add_new(sorted_out.kept)
    # locked, so that two batches for one allocation are judged one after the other, each seeing the other's
    allocations = await uow.allocations.holding(new, for_update=True)
    usage = model.attribute(new, allocations)
    evaluated = 0
    for allocation in allocations:
        if allocation.id in usage:
            await uow.outbox.add(_usage_recorded(allocation, usage[allocation.id], policy))
            evaluated += await _evaluate(allocation, uow, policy)
    return BatchReceipt(accepted=len(new), duplicates=len(sorted_out.kept) - len(new),
                        allocations_evaluated=evaluated, unheld=model.held_by_none(new, allocations),
                        refused_future=len(sorted_out.future), refused_other_csp=len(sorted_out.foreign))


async def map_host(cmd: MapHost, uow: TelemetryUnitOfWork) -> HostMapping:
    mapping = HostMapping(cmd.csp, cmd.hostname, cmd.server_name)
    await uow.hosts.put(mapping)
    return mapping


async def unmap_host(cmd: UnmapHost, uow: TelemetryUnitOfWork) -> None:
    if not await uow.hosts.remove(cmd.csp, cmd.hostname):
        raise HostNotMapped(f"{cmd.csp} has no mapping for host {cmd.hostname}")


async def _evaluate(allocation: model.Allocation, uow: TelemetryUnitOfWork, policy: Policy) -> bool:
    if not allocation.is_evaluated or not policy.monitors(allocation.program):
        return False
    window = await uow.samples.window(allocation, days=policy.window_days)
    warned_before = allocation.ladder is not model.Ladder.NONE
    step = allocation.evaluate(window, policy) if window else None
    if window is None or step is None:
        return True
    await uow.allocations.save(allocation)
    if step is Step.RECLAIM and not warned_before:
        # without a grace period the first drop is the reclaim as well: its warning is still published first, so
        # that every reclaim follows a warning (allocation carries a reclaim out only while a warning stands)
        await uow.outbox.add(_utilization_dropped(allocation, window, Step.WARNING, policy))
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
    MapHost: map_host,
    UnmapHost: unmap_host,
}
