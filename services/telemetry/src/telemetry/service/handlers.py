"""Telemetry's handlers; the HANDLERS map at the bottom is the service's table of contents.

Handlers that need the ladder's numbers take a `policy` keyword, which bootstrap supplies from the settings.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import UTC

from servicekit.bus import Handlers
from telemetry.domain import model
from telemetry.domain.commands import (
    CloseHours,
    EndAllocation,
    FlagSilentAllocations,
    KeepPartitions,
    MapHost,
    OnRefused,
    RecordSamples,
    TrackAllocation,
    UnmapHost,
    WaiveReclaim,
)
from telemetry.domain.errors import HostNotMapped, SamplesFromTheFuture, ServersOfAnotherCsp
from telemetry.domain.model import BatchReceipt, HostMapping, Policy, Sample
from telemetry.service.ladder import evaluate, record
from telemetry.service.unit_of_work import TelemetryUnitOfWork
from telemetry.service.upkeep import close_hours, flag_silent_allocations, keep_partitions

log = logging.getLogger(__name__)


async def track_allocation(cmd: TrackAllocation, uow: TelemetryUnitOfWork, *, policy: Policy) -> None:
    fields = {f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd) if f.name != "allocation_id"}
    fields["slots"] = list(cmd.slots)
    if not await uow.allocations.add(model.Allocation(id=cmd.allocation_id, **fields)):
        log.info("allocation %s is already tracked", cmd.allocation_id)
        return
    await uow.usage.backfill(cmd.allocation_id, in_use_pct=policy.in_use_pct)


async def end_allocation(cmd: EndAllocation, uow: TelemetryUnitOfWork) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("reclaim of untracked allocation %s", cmd.allocation_id)
        return
    if allocation.end(cmd.ended_at):  # a reclaim after the first changes nothing: nothing to write
        await uow.allocations.save(allocation)


async def waive_reclaim(cmd: WaiveReclaim, uow: TelemetryUnitOfWork, *, policy: Policy) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("waiver of untracked allocation %s", cmd.allocation_id)
        return
    if (taken := allocation.waive(cmd.waived_at)) is not None:
        await record(allocation, [taken], uow, policy)


async def _named(cmd: RecordSamples, uow: TelemetryUnitOfWork) -> tuple[Sample, ...]:
    """The batch's samples under our server names: by registered GPU UUID first, then by the host mapping."""
    if not cmd.by_hostname:
        return cmd.samples
    registered = await uow.allocations.by_uuid(set(cmd.uuids.values()))
    moved = {gpu: registered[uuid] for gpu, uuid in cmd.uuids.items() if uuid in registered}
    hosts = {s.server_name for s in cmd.samples if (s.server_name, s.gpu_index) not in moved}
    return model.renamed(cmd.samples, moved, await uow.hosts.servers(cmd.csp_id, hosts))


async def record_samples(cmd: RecordSamples, uow: TelemetryUnitOfWork, *, policy: Policy) -> BatchReceipt:
    samples = await _named(cmd, uow)
    owners = await uow.allocations.owners({s.server_name for s in samples})
    lines = cmd.line_numbers or tuple(range(1, len(samples) + 1))
    sorted_out = model.triage(samples, lines, earliest=policy.earliest_instant(cmd.received_at),
                              latest=policy.latest_instant(cmd.received_at), owners=owners, csp_id=cmd.csp_id)
    if cmd.on_refused is OnRefused.REFUSE_BATCH:
        if sorted_out.future:
            raise SamplesFromTheFuture(policy.latest_instant(cmd.received_at),
                                       [(line, s.ts) for line, s in sorted_out.future])
        if sorted_out.foreign:
            raise ServersOfAnotherCsp(cmd.csp_id, [(line, s.server_name) for line, s in sorted_out.foreign])
    await uow.partitions.ensure({s.ts.astimezone(UTC).date() for s in sorted_out.kept})
    stored = await uow.samples.add_new(sorted_out.kept, csp_id=cmd.csp_id, in_use_pct=policy.in_use_pct)
    # locked, so that two batches for one allocation are judged one after the other, each seeing the other's
    allocations = await uow.allocations.many(stored.allocation_ids, for_update=True)
    evaluated = await evaluate(allocations, uow, policy)
    return BatchReceipt(accepted=stored.new, duplicates=len(sorted_out.kept) - stored.new,
                        allocations_evaluated=evaluated, unheld=stored.unheld,
                        refused_future=len(sorted_out.future), refused_other_csp=len(sorted_out.foreign),
                        refused_late=len(sorted_out.late))


async def map_host(cmd: MapHost, uow: TelemetryUnitOfWork) -> HostMapping:
    mapping = HostMapping(cmd.csp_id, cmd.hostname, cmd.server_name)
    await uow.hosts.put(mapping)
    return mapping


async def unmap_host(cmd: UnmapHost, uow: TelemetryUnitOfWork) -> None:
    if not await uow.hosts.remove(cmd.csp_id, cmd.hostname):
        raise HostNotMapped(f"CSP {cmd.csp_id} has no mapping for host {cmd.hostname}")


HANDLERS: Handlers = {
    TrackAllocation: track_allocation,
    EndAllocation: end_allocation,
    WaiveReclaim: waive_reclaim,
    RecordSamples: record_samples,
    MapHost: map_host,
    UnmapHost: unmap_host,
    CloseHours: close_hours,
    FlagSilentAllocations: flag_silent_allocations,
    KeepPartitions: keep_partitions,
}
