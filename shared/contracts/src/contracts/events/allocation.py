"""Events published by allocation: CSPs registered, GPUs placed, applications waitlisted, GPUs taken back, reclaims
waived."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts import topics
from contracts.base import Contract, Event
from contracts.bounds import FiniteFloat, Instant, Line, NonNegativeInt32, PositiveInt32, Text
from contracts.events.common import GpuModel, GpuUuid, Program, ReclaimReason


class GpuSlot(Contract):
    """One concrete GPU: a server and the GPU's index on it, and NVIDIA's UUID of it when the inventory has one."""

    server_id: UUID
    server_name: Line = Field(min_length=1, max_length=1000)
    csp: Line = Field(max_length=1000, description="The CSP's name, for people.")
    csp_id: UUID | None = Field(default=None, description="The CSP's id in the inventory: what a CSP's access token "
                                                          "names it by. Absent in events published before it was "
                                                          "carried.")
    gpu_index: NonNegativeInt32
    gpu_uuid: GpuUuid | None = Field(default=None, description="The GPU's UUID as the DCGM exporter labels it "
                                                               "(`UUID`); absent when the inventory has none.")


class CspRegistered(Event):
    """A CSP joined the inventory: the id a CSP's OAuth2 client names it by, and its name."""

    type: Literal["allocation.csp_registered.v1"] = "allocation.csp_registered.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    subject_field: ClassVar[str] = "csp_id"
    csp_id: UUID
    name: Line = Field(min_length=1, max_length=100)


class _Grant(Event):
    """GPUs of one model for an application over a period that ends after it starts."""

    application_id: UUID
    program: Program
    gpu_model: GpuModel
    gpus: PositiveInt32
    starts_at: Instant
    ends_at: Instant

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
    planned_gpu_hours_per_month: PositiveInt32

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
    reason: Text = Field(max_length=10_000)
    call_id: UUID | None = Field(default=None, description="P1/P2: the round that waitlisted it.")
    rank: PositiveInt32 | None = Field(default=None, description="P1/P2: its place in the round's waitlist, 1 first.")


class ResourceReclaimed(Event):
    """GPUs taken back from an allocation; they return to the pool."""

    type: Literal["allocation.resource_reclaimed.v1"] = "allocation.resource_reclaimed.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    allocation_id: UUID
    gpus: PositiveInt32
    reason: ReclaimReason
    reclaimed_at: Instant


class ReclaimWaived(Event):
    """An operator waived an allocation's reclaim ladder: the warnings so far lead to no reclaim, and a new warning
    after `waived_at` re-arms the ladder."""

    type: Literal["allocation.reclaim_waived.v1"] = "allocation.reclaim_waived.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    allocation_id: UUID
    waived_at: Instant


class RoundSelected(Event):
    """A P1/P2 round was decided: how many were selected and waitlisted, and how (solver, objective)."""

    type: Literal["allocation.round_selected.v1"] = "allocation.round_selected.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    subject_field: ClassVar[str] = "call_id"
    call_id: UUID
    program: Program
    selected: NonNegativeInt32
    waitlisted: NonNegativeInt32
    gpus_awarded: NonNegativeInt32
    reserve_gpus: NonNegativeInt32 = Field(description="GPUs of the early-career share (0 where there is none).")
    reserve_gpus_used: NonNegativeInt32 = Field(description="Of those, GPUs the early-career track took; "
                                                            "the rest spilled over to the others.")
    method: Literal["exact", "heuristic"]
    objective: FiniteFloat = Field(ge=0, description="Sum over the selected of score x GPUs.")


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
    expires_at: Instant


class OfferExpired(Event):
    """The partner did not answer an offer in time: the capacity goes to the next in line."""

    type: Literal["allocation.offer_expired.v1"] = "allocation.offer_expired.v1"
    topic: ClassVar[str] = topics.ALLOCATIONS
    application_id: UUID
    offer_id: UUID
