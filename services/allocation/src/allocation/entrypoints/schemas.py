"""The operator API's request and response bodies."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from allocation.domain.model import Status
from servicekit.bounds import Day, Instant, Line, Note, SingleLine

Pool = Literal["P1", "P2", "P3"]
# names are identifiers operators type and CSPs report: no leading or trailing blanks
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$"), SingleLine]
GpuModel = Annotated[str, Field(min_length=1, max_length=64, examples=["H100", "H200"]), SingleLine]


class CspIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class CspOut(BaseModel):
    id: UUID
    name: str


class ServerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csp: Line = Field(min_length=1, max_length=100, description="Name of the CSP that hosts the server.")
    name: Name
    region: Line = Field(min_length=1, max_length=50)
    gpu_model: GpuModel
    gpus: int | None = Field(default=None, ge=1, le=1024, description="Defaults to the configured server size.")
    pool: Pool
    available_from: Day | None = Field(default=None, description="First day it serves the pool; open if left out.")
    available_until: Day | None = Field(default=None, description="Last day (inclusive); open if left out.")

    @model_validator(mode="after")
    def _in_order(self) -> ServerIn:
        if self.available_from and self.available_until and self.available_until < self.available_from:
            raise ValueError("available_until is before available_from")
        return self


class WindowIn(BaseModel):
    """An availability window: e.g. a government server idle until its national project starts, lent to P3."""

    model_config = ConfigDict(extra="forbid")
    pool: Pool
    starts_on: Day | None = Field(default=None, description="First day (UTC); open if left out.")
    ends_on: Day | None = Field(default=None, description="Last day, inclusive; open if left out.")
    note: Note = ""

    @model_validator(mode="after")
    def _in_order(self) -> WindowIn:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class WindowEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ends_on: Day | None = Field(description="The new last day (inclusive, UTC); null for open-ended.")


class WindowOut(BaseModel):
    id: UUID
    server_id: UUID
    pool: Pool
    starts_at: datetime | None
    ends_at: datetime | None
    note: str


class DailyCapacityOut(BaseModel):
    day: date
    gpu_model: str
    total_gpus: int
    allocated_gpus: int
    free_gpus: int


class ServerOut(BaseModel):
    id: UUID
    csp: str
    name: str
    region: str
    gpu_model: str
    gpus: int
    pool: Pool


class CapacityOut(BaseModel):
    program: Pool
    gpu_model: str | None
    at: datetime
    total_gpus: int
    allocated_gpus: int
    free_gpus: int


class SlotOut(BaseModel):
    server_id: UUID
    server_name: str
    csp: str
    gpu_index: int


class AllocationOut(BaseModel):
    id: UUID
    application_id: UUID
    program: str
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    status: Status
    ended_at: datetime | None
    end_reason: str
    warned_at: datetime | None
    waived_at: datetime | None
    slots: list[SlotOut]


class ReclaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal["off_purpose", "operator"]
    at: Instant | None = Field(default=None, description="Effective time; now when left out.")


class WaitlistOut(BaseModel):
    application_id: UUID
    program: str
    score: float
    gpus: int
    gpu_model: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime
    call_id: UUID | None
    rank: int | None
    track: str
    institution: str
    min_days: int | None
    offer_id: UUID | None


class DecisionOut(BaseModel):
    application_id: UUID
    selected: bool
    rank: int
    basis: str = Field(description="selected: reserve, open, cap_lifted; waitlisted: capacity, institution_cap, "
                                   "score, invalid, placement")
    reason: str
    score: float
    gpus: int
    allocation_id: UUID | None


class RoundOut(BaseModel):
    call_id: UUID
    program: str
    status: Literal["pending", "selected"]
    expected: int
    scored_at: datetime
    selected_at: datetime | None
    method: str | None
    objective: float | None
    capacity: dict[str, int]
    reserve_gpus: int
    reserve_gpus_used: int
    solve_seconds: float | None
    decisions: list[DecisionOut] = []


class OfferOut(BaseModel):
    id: UUID
    application_id: UUID
    allocation_id: UUID
    program: str
    state: str
    freed_at: datetime
    requested_at: datetime
    made_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None
    latency_s: float | None = Field(description="Seconds from the capacity freeing to the offer going out.")
