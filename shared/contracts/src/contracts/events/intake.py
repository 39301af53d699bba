"""Events published by intake: an application's arrival and its withdrawal."""
from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field, PositiveInt

from contracts import topics
from contracts.base import Contract, Event
from contracts.events.common import GpuModel, Program


class Applicant(Contract):
    name: str = Field(min_length=1)
    sector: Literal["industry", "academia", "research_institute", "public"]
    institution: str = Field(min_length=1, description="Company or research institution.")
    region: str = Field(min_length=1, description="Head-office or affiliation region.")


class ApplicationSubmitted(Event):
    """A partner submitted an application; evaluation takes it from here."""

    type: Literal["intake.application_submitted.v1"] = "intake.application_submitted.v1"
    topic: ClassVar[str] = topics.APPLICATIONS
    application_id: UUID
    partner_id: UUID
    program: Program
    call_id: UUID | None = None
    applicant: Applicant
    gpus_requested: PositiveInt
    gpu_model: GpuModel
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: PositiveInt
    purpose: str


class ApplicationWithdrawn(Event):
    """The applicant withdrew; any GPUs it holds are freed."""

    type: Literal["intake.application_withdrawn.v1"] = "intake.application_withdrawn.v1"
    topic: ClassVar[str] = topics.APPLICATIONS
    application_id: UUID
    reason: str = ""
