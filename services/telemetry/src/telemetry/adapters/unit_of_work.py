"""Telemetry's unit of work: the shared SQL unit of work plus the allocation and sample repositories."""
from __future__ import annotations

from servicekit.uow import SqlUnitOfWork
from telemetry.adapters.repository import AllocationRepository, SampleRepository


class TelemetryUnitOfWork(SqlUnitOfWork):
    allocations: AllocationRepository
    samples: SampleRepository

    def _start(self) -> None:
        self.allocations = AllocationRepository(self.session)
        self.samples = SampleRepository(self.session)
