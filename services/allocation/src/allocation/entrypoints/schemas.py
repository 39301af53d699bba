"""The operator API's request and response bodies."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PositiveInt

from allocation.domain.model import Status

Pool = Literal["P1", "P2", "P3"]
# names are identifiers operators type and CSPs report: no leading or trailing blanks
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]


class CspIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class CspOut(BaseModel):
    id: UUID
    name: str


class ServerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csp: str = Field(min_length=1, max_length=100, description="Name of the CSP that hosts the server.")
    name: Name
    region: str = Field(min_length=1, max_length=50)
    gpu_model: str = Field(min_length=1, max_length=64, examples=["H100", "H200"])
    gpus: PositiveInt | None = Field(default=None, le=1024, description="Defaults to the configured server size.")
    pool: Pool


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
    slots: list[SlotOut]


class ReclaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Literal["off_purpose", "operator"]
    at: AwareDatetime | None = Field(default=None, description="Effective time; now when left out.")


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
