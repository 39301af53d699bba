"""Telemetry's SQL unit of work: the shared SQL unit of work plus the allocation and sample repositories.

It meets the service layer's port (telemetry.service.unit_of_work.TelemetryUnitOfWork); the API's reads use it directly.
"""
from __future__ import annotations

from servicekit.uow import SqlUnitOfWork
from telemetry.adapters.repository import AllocationRepository, SampleRepository


class SqlTelemetryUnitOfWork(SqlUnitOfWork):
    allocations: AllocationRepository
    samples: SampleRepository

    def _start(self) -> None:
        self.allocations = AllocationRepository(self.session)
        self.samples = SampleRepository(self.session)
