"""Telemetry's worker: consumes allocation's events, relays its outbox; closes hours and publishes their usage,
flags allocations whose telemetry went quiet, and keeps the raw samples' partitions."""
from __future__ import annotations

from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic
from telemetry.bootstrap import bootstrap
from telemetry.config import Settings
from telemetry.domain.commands import CloseHours, FlagSilentAllocations, KeepPartitions
from telemetry.entrypoints.consumer import TRANSLATIONS


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    runtime = bootstrap(settings, clock=clock)
    storage = settings.storage

    async def close_hours() -> int:
        closed = 0
        while (batch := await runtime.bus.handle(CloseHours(now=runtime.clock(), limit=storage.close_batch))):
            closed += batch
            if batch < storage.close_batch:
                break
        return closed

    async def flag_silent() -> int:
        flagged: int = await runtime.bus.handle(FlagSilentAllocations(now=runtime.clock()))
        return flagged

    async def keep_partitions() -> int:
        dropped: int = await runtime.bus.handle(KeepPartitions(now=runtime.clock(),
                                                               retention_days=storage.raw_retention_days))
        return dropped

    jobs = [periodic("hours closed", storage.upkeep_interval_s, close_hours),
            periodic("silent allocations", storage.upkeep_interval_s, flag_silent),
            periodic("raw partitions", storage.partition_interval_s, keep_partitions)]
    return build_worker(runtime, TRANSLATIONS, jobs=jobs)
