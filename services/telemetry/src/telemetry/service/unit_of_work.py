"""What telemetry's service layer relies on: its repositories, named as collections, and its unit of work.

The SQL unit of work (adapters) and the in-memory one of the fast tests both meet these Protocols.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from servicekit.uow import UnitOfWork
from telemetry.domain.model import Allocation, HostMapping, Sample, StepTaken, StoredBatch
from telemetry.domain.rollups import ClosedHour, UsageSums


class Allocations(Protocol):
    async def add(self, tracked: Allocation) -> bool:
        """False when the allocation is already tracked; the one stored is left as it is."""

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None: ...
    async def many(self, allocation_ids: Collection[UUID], *, for_update: bool = False) -> list[Allocation]:
        """The allocations of the ids (those tracked), in id order."""

    async def owners(self, servers: Collection[str]) -> dict[str, set[UUID]]:
        """The CSPs (by id) each of the servers is tracked under; a server tracked under none is left out."""

    async def save(self, tracked: Allocation) -> None:
        """Write the allocation's ladder, warning, end, waiver and staleness."""

    async def silent(self, *, quiet_since: datetime, now: datetime, programs: Collection[str]) -> list[Allocation]:
        """Allocations under way at `now`, of the programs, on the ladder and not known stale, with no sample since
        `quiet_since` (nor a start after it); locked."""

    async def by_uuid(self, uuids: Collection[str]) -> dict[str, tuple[str, int]]:
        """GPU UUID → (server, GPU index), for the UUIDs tracked allocations' GPUs carry."""


class Samples(Protocol):
    async def add_new(self, samples: Sequence[Sample], *, csp_id: UUID, in_use_pct: float) -> StoredBatch:
        """Store the CSP's samples (the first of a GPU and instant the batch repeats) not stored already; add each
        new one to its GPU's hour and to the hour of the allocation that held the GPU at its instant (`tally`'s
        rule; a sample at or above `in_use_pct` counts as in use)."""


class Usage(Protocol):
    """The allocations' hourly rollups."""

    async def backfill(self, allocation_id: UUID, *, in_use_pct: float) -> None:
        """Sum the raw samples already stored on a newly tracked allocation's GPUs, within its period, into its
        hours (its event came after them)."""

    async def newest(self, allocation_ids: Collection[UUID]) -> dict[UUID, datetime]:
        """The newest sample counted for each allocation; one without any is left out."""

    async def sums(self, spans: Sequence[tuple[UUID, datetime, datetime]]) -> list[UsageSums]:
        """For each (allocation, first hour, last hour), the sums of the allocation's hours from the first to the
        last, both included; in the order asked."""

    async def close(self, through: datetime, *, limit: int) -> list[ClosedHour]:
        """Close at most `limit` open hours that start before `through` (with their GPUs' hours), in order."""


class Steps(Protocol):
    async def add(self, allocation_id: UUID, taken: StepTaken) -> None:
        """Keep the step in the allocation's ladder history."""


class Partitions(Protocol):
    async def ensure(self, days: Collection[date]) -> list[date]:
        """Create the raw samples' partitions of the days that have none; returns the days created."""

    async def drop_before(self, day: date) -> list[date]:
        """Drop the raw samples' partitions of the days before `day`; returns the days dropped."""


class Hosts(Protocol):
    async def servers(self, csp_id: UUID, hostnames: Collection[str]) -> dict[str, str]:
        """hostname → server name, for those of the hostnames the CSP mapped; the others are left out."""

    async def put(self, mapping: HostMapping) -> None:
        """Map the CSP's host to its server, in place of any mapping it had."""

    async def remove(self, csp_id: UUID, hostname: str) -> bool:
        """False when the CSP had no mapping for the host."""


class TelemetryUnitOfWork(UnitOfWork, Protocol):
    @property
    def allocations(self) -> Allocations: ...
    @property
    def samples(self) -> Samples: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def steps(self) -> Steps: ...
    @property
    def partitions(self) -> Partitions: ...
    @property
    def hosts(self) -> Hosts: ...
