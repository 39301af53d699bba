"""Telemetry's SQL unit of work: the shared SQL unit of work plus telemetry's repositories.

It meets the service layer's port (telemetry.service.unit_of_work.TelemetryUnitOfWork); the API's reads use it directly.
"""
from __future__ import annotations

from servicekit.uow import SqlUnitOfWork
from telemetry.adapters.repository import AllocationRepository, SampleRepository
from telemetry.adapters.repository_hosts import HostRepository
from telemetry.adapters.repository_usage import PartitionRepository, StepRepository, UsageRepository


class SqlTelemetryUnitOfWork(SqlUnitOfWork):
    allocations: AllocationRepository
    samples: SampleRepository
    usage: UsageRepository
    steps: StepRepository
    partitions: PartitionRepository
    hosts: HostRepository

    def _start(self) -> None:
        self.allocations = AllocationRepository(self.session)
        self.samples = SampleRepository(self.session)
        self.usage = UsageRepository(self.session)
        self.steps = StepRepository(self.session)
        self.partitions = PartitionRepository(self.session)
        self.hosts = HostRepository(self.session)
