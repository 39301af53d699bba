"""The evaluation API's query and response bodies."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import Program
from evaluation.domain.model import Status


class EvaluationQuery(BaseModel):
    """Filters of the evaluation list; an unknown parameter is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")
    program: Program | None = None
    status: Status | None = None
    limit: int = Field(default=50, ge=1, le=200)


class CheckOut(BaseModel):
    rule: str
    passed: bool
    message: str = Field(description="What the rule demands when passed; why it failed otherwise.")


class ComponentOut(BaseModel):
    name: str
    points: float
    detail: str


class ApplicantOut(BaseModel):
    sector: str
    institution: str
    region: str


class EvaluationOut(BaseModel):
    application_id: UUID
    program: str
    call_id: UUID | None
    status: Status
    score: float | None = Field(description="0 to 100; null unless the application is eligible and scored.")
    policy_version: str
    components: list[ComponentOut] = Field(description="The score's parts; their points add up to the score.")
    rules: list[CheckOut] = Field(description="Every eligibility rule applied, passed or not.")
    failed_rules: list[str]
    applicant: ApplicantOut
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    submitted_at: datetime
    evaluated_at: datetime
