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


class _Grant(Event):
    """GPUs of one model for an application over a period that ends after it starts."""

    application_id: UUID
    program: Program
    gpu_model: GpuModel
    gpus: PositiveInt
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _period_in_order(self) -> _Grant:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at is not after starts_at")
        return self


class ResourceAllocated(_Grant):
    """Concrete GPUs are the application's for a period."""

    type: Literal["allocation.resource_allocated.v1"] = "allocation.resource_allocated.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    allocation_id: UUID
    slots: list[GpuSlot] = Field(min_length=1)
    planned_gpu_hours_per_month: PositiveInt

    @model_validator(mode="after")
    def _slots_match_gpus(self) -> ResourceAllocated:
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
    call_id: UUID | None = Field(default=None, description="P1/P2: the round that waitlisted it.")
    rank: PositiveInt | None = Field(default=None, description="P1/P2: its place in the round's waitlist, 1 first.")


class ResourceReclaimed(Event):
    """GPUs taken back from an allocation; they return to the pool."""

    type: Literal["allocation.resource_reclaimed.v1"] = "allocation.resource_reclaimed.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    allocation_id: UUID
    gpus: PositiveInt
    reason: ReclaimReason
    reclaimed_at: AwareDatetime




class RoundSelected(Event):
    """A P1/P2 round was decided: how many were selected and waitlisted, and how (solver, objective)."""

    type: Literal["allocation.round_selected.v1"] = "allocation.round_selected.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    subject_field: ClassVar[str] = "call_id"
    call_id: UUID
    program: Program
    selected: NonNegativeInt
    waitlisted: NonNegativeInt
    gpus_awarded: NonNegativeInt
    reserve_gpus: NonNegativeInt = Field(description="GPUs of the early-career share (0 where there is none).")
    reserve_gpus_used: NonNegativeInt = Field(description="Of those, GPUs the early-career track took; "
                                                          "the rest spilled over to the others.")
    method: Literal["exact", "heuristic"]
    objective: float = Field(ge=0, description="Sum over the selected of score x GPUs.")


class EligibilityRecheckRequested(Event):
    """Capacity is held for a waitlisted application: evaluation re-checks its eligibility before the offer."""

    type: Literal["allocation.eligibility_recheck_requested.v1"] = "allocation.eligibility_recheck_requested.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    offer_id: UUID
    program: Program


class OfferMade(_Grant):
    """Freed capacity is offered to a waitlisted application; the partner accepts or declines before it expires."""

    type: Literal["allocation.offer_made.v1"] = "allocation.offer_made.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    offer_id: UUID
    expires_at: AwareDatetime


class OfferExpired(Event):
    """The partner did not answer an offer in time: the capacity goes to the next in line."""

    type: Literal["allocation.offer_expired.v1"] = "allocation.offer_expired.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    offer_id: UUID
