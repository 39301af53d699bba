"""The evaluation API's bodies: evaluations with their explanation, re-checks and closed rounds."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import Program, Sector
from evaluation.domain.model import Status
from servicekit.bounds import Instant


class EvaluationQuery(BaseModel):
    """Filters of the evaluation list; an unknown parameter is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")
    program: Program | None = None
    status: Status | None = None
    call_id: UUID | None = None
    limit: int = Field(default=50, ge=1, le=200)


class CheckOut(BaseModel):
    rule: str
    passed: bool
    message: str = Field(description="What the rule demands when passed; why it failed otherwise.")


class ComponentOut(BaseModel):
    name: str
    points: float
    detail: str = Field(description="How the points were reached; for a bonus, its rule.")


class CriterionOut(BaseModel):
    name: str
    weight: float
    mean: float = Field(description="The reviewers' mean score of this criterion, 0-100.")
    reviews: int
    weighted_points: float = Field(description="weight x mean, rounded for display; the rubric rounds the exact sum.")


class RecheckOut(BaseModel):
    at: datetime
    policy_version: str
    changes: dict[str, Any] = Field(description="The facts that had changed since the submission.")
    rules: list[CheckOut]
    passed: bool
    offer_id: UUID | None = Field(default=None, description=(
        "The offer of freed capacity this re-check was for (allocation asked); null for an operator's re-check."))


class ApplicantOut(BaseModel):
    name: str
    sector: str
    institution: str
    region: str


class CompanyOut(BaseModel):
    business_registration_number: str
    size: str
    head_office_region: str
    representative_birth_date: date


class ResearcherOut(BaseModel):
    institution_type: str
    appointment_date: date
    birth_date: date


class CorporateParticipantOut(BaseModel):
    name: str
    size: str


class EvaluationOut(BaseModel):
    application_id: UUID
    program: Program
    call_id: UUID | None
    status: Status
    score: float | None = Field(description="Null until scored. P1/P2: weighted rubric plus bonus points, not "
                                            "capped; final once `reviews_received` reaches the policy's minimum.")
    policy_version: str = Field(description="The version of the latest decision (the score's, once scored).")
    eligibility_policy_version: str = Field(description="The version the eligibility rules were judged by.")
    components: list[ComponentOut] = Field(description="The score's parts (rubric, each bonus); their points add "
                                                       "up to the score. Kept for the record if rejected later.")
    criteria: list[CriterionOut] = Field(description="P1/P2: each rubric criterion's mean and weight.")
    reviews_received: int
    reviews_required: int = Field(description="P1/P2: the reviews that make the score final (policy minimum).")
    score_final: bool = Field(description="P3 when scored; P1/P2 once the minimum of reviews is in. The call's "
                                          "close publishes it, with what is in even below the minimum.")
    facts: dict[str, bool] = Field(description="Derived on the submission day: youth_company, regional_company "
                                               "(P1); early_career, non_capital_region (P2).")
    rules: list[CheckOut] = Field(description="Every eligibility rule applied, passed or not.")
    failed_rules: list[str]
    rechecks: list[RecheckOut]
    applicant: ApplicantOut
    company: CompanyOut | None
    researcher: ResearcherOut | None
    corporate_participants: list[CorporateParticipantOut]
    servers_requested: int | None
    open_source: bool
    training_data_scale: str | None
    earliest_start: date | None
    acceptable_window_months: int | None
    purpose: str
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    submitted_at: datetime
    evaluated_at: datetime


class RecheckIn(BaseModel):
    """Re-check at award time; the facts given are the ones that changed since the submission."""

    model_config = ConfigDict(extra="forbid")
    at: Instant | None = Field(default=None, description="The award time; default now.")
    company_size: Literal["startup", "small", "mid", "large"] | None = None
    sector: Sector | None = None


class RecheckResultOut(BaseModel):
    recheck: RecheckOut
    evaluation: EvaluationOut


class PanelMemberOut(BaseModel):
    reviewer_id: UUID
    reviewer_name: str
    assigned_at: datetime
    reviewed_at: datetime | None
    scores: dict[str, float] | None


class ExclusionOut(BaseModel):
    reviewer_id: UUID
    reason: str = Field(description="same_institution or named_on_application, and why.")


class PanelOut(BaseModel):
    application_id: UUID
    assigned: list[PanelMemberOut]
    excluded: list[ExclusionOut]


class RoundOut(BaseModel):
    call_id: UUID
    program: Program
    opens_at: datetime
    closes_at: datetime
    policy_version: str = Field(description="The version in force at the close: every score of the round uses it.")
    closed_at: datetime
    scored_at: datetime | None = Field(description="When RoundScored went out; null while an application is "
                                                   "still undecided.")
    application_ids: list[UUID]
    undecided: list[UUID]
