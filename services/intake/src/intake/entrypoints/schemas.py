"""The partner API's request and response bodies."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from intake.domain.model import Status


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    sector: Literal["industry", "academia", "research_institute", "public"]
    institution: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=50)


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    program: Literal["P1", "P2", "P3"]
    call_id: UUID | None = None
    applicant: ApplicantIn
    gpus_requested: PositiveInt = Field(le=1024)
    gpu_model: str = Field(min_length=1, max_length=64)
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: PositiveInt
    purpose: str = Field(min_length=1, max_length=4000)


class StatusChange(BaseModel):
    status: Status
    reason: str
    at: datetime


class ApplicationOut(BaseModel):
    id: UUID
    partner_id: UUID
    program: str
    call_id: UUID | None
    applicant: ApplicantIn
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    purpose: str
    status: Status
    status_reason: str
    submitted_at: datetime
    updated_at: datetime | None
    history: list[StatusChange] = []


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)
