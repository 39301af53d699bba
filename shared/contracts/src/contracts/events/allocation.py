"""Events published by allocation: GPUs placed, applications waitlisted, GPUs taken back."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, NonNegativeInt, PositiveInt, model_validator

from contracts import topics
from contracts.base import Contract, Event
from contracts.events.common import GpuModel, Program, ReclaimReason


class GpuSlot(Contract):
    """One concrete GPU: a server and the GPU's index on it."""

    server_id: UUID
    server_name: str
    csp: str
    gpu_index: NonNegativeInt


class ResourceAllocated(Event):
    """Concrete GPUs are the application's for a period."""

    type: Literal["allocation.resource_allocated.v1"] = "allocation.resource_allocated.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    allocation_id: UUID
    program: Program
    gpu_model: GpuModel
    gpus: PositiveInt
    slots: list[GpuSlot] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    planned_gpu_hours_per_month: PositiveInt

    @model_validator(mode="after")
    def _period_in_order(self) -> ResourceAllocated:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at is not after starts_at")
        if len(self.slots) != self.gpus:
            raise ValueError("slots do not match gpus")
        return self


class ApplicationWaitlisted(Event):
    """No capacity fits now; the application waits in rank order."""

    type: Literal["allocation.application_waitlisted.v1"] = "allocation.application_waitlisted.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    program: Program
    reason: str


class ResourceReclaimed(Event):
    """GPUs taken back from an allocation; they return to the pool."""

    type: Literal["allocation.resource_reclaimed.v1"] = "allocation.resource_reclaimed.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    allocation_id: UUID
    gpus: PositiveInt
    reason: ReclaimReason
    reclaimed_at: AwareDatetime


