"""The allocations API's request and response bodies."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from allocation.domain.model import Status
from allocation.entrypoints.schemas import Pool
from servicekit.bounds import Instant


class SlotOut(BaseModel):
    server_id: UUID
    server_name: str
    csp: str
    gpu_index: int
    gpu_uuid: str | None = Field(description="The GPU's UUID as the inventory has it now; null when it has none.")


class AllocationOut(BaseModel):
    id: UUID
    application_id: UUID
    program: Pool
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
