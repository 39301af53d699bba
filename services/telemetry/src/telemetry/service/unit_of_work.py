"""What telemetry's service layer relies on: its repositories, named as collections, and its unit of work.

The SQL unit of work (adapters) and the in-memory one of the fast tests both meet these Protocols.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol
from uuid import UUID

from servicekit.uow import UnitOfWork
from telemetry.domain.model import Allocation, HostMapping, Sample, Window


class Allocations(Protocol):
    async def add(self, tracked: Allocation) -> bool:
        """False when the allocation is already tracked; the one stored is left as it is."""

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None: ...
    async def holding(self, samples: Sequence[Sample], *, for_update: bool = False) -> list[Allocation]:
        """The allocations that held any of the samples' GPUs during the samples' span, in id order."""

    async def owners(self, servers: Collection[str]) -> dict[str, set[str]]:
        """The CSPs each of the servers is tracked under; a server tracked under none is left out."""

    async def save(self, tracked: Allocation) -> None:
        """Write the allocation's ladder, warning and end."""


class Samples(Protocol):
    async def add_new(self, samples: Iterable[Sample]) -> list[Sample]:
        """Store the samples; returns those that were not stored already."""

    async def window(self, tracked: Allocation, *, days: int) -> Window | None:
        """The trailing `days` ending at the allocation's newest sample (within its period); None before any."""


class Hosts(Protocol):
    async def servers(self, csp: str, hostnames: Collection[str]) -> dict[str, str]:
        """hostname → server name, for those of the hostnames the CSP mapped; the others are left out."""

    async def put(self, mapping: HostMapping) -> None:
        """Map the CSP's host to its server, in place of any mapping it had."""

    async def remove(self, csp: str, hostname: str) -> bool:
        """False when the CSP had no mapping for the host."""


class TelemetryUnitOfWork(UnitOfWork, Protocol):
    @property
    def allocations(self) -> Allocations: ...
    @property
    def samples(self) -> Samples: ...
    @property
    def hosts(self) -> Hosts: ...
