"""The inventory API's request and response bodies, and the types every router's schemas share."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from allocation.domain.model import GPU_UUID_PATTERN, ProgramCode
from servicekit.bounds import Day, Line, Note, SingleLine

Pool = ProgramCode
# names are identifiers operators type and CSPs report: no leading or trailing blanks
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$"), SingleLine]
GpuModel = Annotated[str, Field(min_length=1, max_length=64, examples=["H100", "H200"]), SingleLine]
# NVIDIA's UUID of a GPU, as the DCGM exporter labels its samples (`UUID`)
GpuUuid = Annotated[str, Field(min_length=12, max_length=68, pattern=GPU_UUID_PATTERN,
                               examples=["GPU-5d5e7a9c-1b2f-4c3d-9e8f-0123456789ab"]), SingleLine]
MAX_GPUS_PER_SERVER = 1024
GPU_UUIDS_DESCRIPTION = ("The UUIDs of the server's GPUs as the DCGM exporter labels them (`UUID`), in GPU index "
                         "order: one per GPU, each a GPU of no other server, its hex digits stored in lower case; "
                         "empty for none.")


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
    gpus: int | None = Field(default=None, ge=1, le=MAX_GPUS_PER_SERVER,
                             description="Defaults to the configured server size.")
    pool: Pool
    available_from: Day | None = Field(default=None, description="First day it serves the pool; open if left out.")
    available_until: Day | None = Field(default=None, description="Last day (inclusive); open if left out.")
    gpu_uuids: list[GpuUuid] | None = Field(default=None, max_length=MAX_GPUS_PER_SERVER,
                                            description=GPU_UUIDS_DESCRIPTION + " Optional; settable later.")

    @model_validator(mode="after")
    def _in_order(self) -> ServerIn:
        if self.available_from and self.available_until and self.available_until < self.available_from:
            raise ValueError("available_until is before available_from")
        return self


class GpuUuidsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gpu_uuids: list[GpuUuid] = Field(max_length=MAX_GPUS_PER_SERVER, description=GPU_UUIDS_DESCRIPTION)


class WindowIn(BaseModel):
    """An availability window: e.g. a government server idle until its national project starts, lent to P3."""

    model_config = ConfigDict(extra="forbid")
    pool: Pool
    starts_on: Day | None = Field(default=None, description="First day (Korea's calendar); open if left out.")
    ends_on: Day | None = Field(default=None, description="Last day, inclusive; open if left out.")
    note: Note = ""

    @model_validator(mode="after")
    def _in_order(self) -> WindowIn:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class WindowEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ends_on: Day | None = Field(description="The new last day (inclusive, Korea's calendar); null for open-ended.")


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
    gpu_uuids: list[str] = Field(description="The GPUs' UUIDs in index order; empty when none are registered.")


class CapacityOut(BaseModel):
    program: Pool
    gpu_model: str | None
    at: datetime
    total_gpus: int
    allocated_gpus: int
    free_gpus: int
