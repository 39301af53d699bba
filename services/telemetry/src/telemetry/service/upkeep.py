"""The worker's rounds: hours closed and their usage published, silent allocations flagged, raw partitions kept."""
from __future__ import annotations

import logging
from datetime import timedelta

from contracts import UsageRecorded
from telemetry.domain.commands import CloseHours, FlagSilentAllocations, KeepPartitions
from telemetry.domain.model import Policy, hour_of
from telemetry.domain.rollups import allocation_figures
from telemetry.service.ladder import flag_silent
from telemetry.service.unit_of_work import TelemetryUnitOfWork

log = logging.getLogger(__name__)


async def close_hours(cmd: CloseHours, uow: TelemetryUnitOfWork, *, policy: Policy) -> int:
    """Each allocation's hour that can take no more samples is closed and its usage published, once: an hour ends
    `lateness` before samples of it are refused as late."""
    through = hour_of(policy.earliest_instant(cmd.now))
    closed = await uow.usage.close(through, limit=cmd.limit)
    allocations = {}
    for hour in closed:
        if hour.allocation_id not in allocations:
            allocations[hour.allocation_id] = await uow.allocations.get(hour.allocation_id)
        allocation = allocations[hour.allocation_id]
        if allocation is None:
            continue
        figures = allocation_figures(allocation, hour.usage, policy.sample_interval_s)
        await uow.outbox.add(UsageRecorded(
            application_id=allocation.application_id, allocation_id=allocation.id,
            window_start=hour.usage.hour, window_end=hour.usage.hour + timedelta(hours=1),
            gpu_hours=figures.busy_gpu_hours, utilization_pct=min(100.0, figures.utilization_pct)))
    if closed:
        log.info("closed %d allocation hours before %s", len(closed), through.isoformat())
    return len(closed)


async def flag_silent_allocations(cmd: FlagSilentAllocations, uow: TelemetryUnitOfWork, *, policy: Policy) -> int:
    quiet_since = cmd.now - timedelta(seconds=policy.stale_after_s)
    silent = await uow.allocations.silent(quiet_since=quiet_since, now=cmd.now, programs=policy.monitored_programs)
    return sum([await flag_silent(allocation, cmd.now, uow, policy) for allocation in silent])


async def keep_partitions(cmd: KeepPartitions, uow: TelemetryUnitOfWork) -> int:
    today = cmd.now.date()
    created = await uow.partitions.ensure({today + timedelta(days=d) for d in range(-1, cmd.days_ahead + 1)})
    dropped = await uow.partitions.drop_before(today - timedelta(days=cmd.retention_days))
    if created or dropped:
        log.info("raw sample partitions: created %s, dropped %s", created, dropped)
    return len(dropped)
