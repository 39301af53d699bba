"""The bodies of reviewers, their assignments, reviews and policy versions."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.common import Region

Criterion = Literal["technical_social_impact", "ai_ecosystem_contribution", "capability_readiness"]
CompanySize = Literal["startup", "small", "mid", "large"]


class ReviewerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    institution: str = Field(min_length=1, max_length=200)
    expertise: list[str] = Field(default_factory=list, max_length=20,
                                 description="Terms matched against an application's purpose, e.g. 'nlp'.")
    active: bool = True


class ReviewerOut(BaseModel):
    id: UUID
    name: str
    institution: str
    expertise: list[str]
    active: bool


class AssignmentOut(BaseModel):
    application_id: UUID
    program: str
    call_id: UUID | None
    status: str = Field(description="The application's evaluation status.")
    assigned_at: datetime
    reviewed_at: datetime | None
    scores: dict[str, float] | None


class CriterionScores(BaseModel):
    model_config = ConfigDict(extra="forbid")
    technical_social_impact: float = Field(ge=0, le=100)
    ai_ecosystem_contribution: float = Field(ge=0, le=100)
    capability_readiness: float = Field(ge=0, le=100)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_id: UUID
    scores: CriterionScores


class ReviewOut(BaseModel):
    application_id: UUID
    reviewer_id: UUID
    scores: CriterionScores
    reviews_received: int = Field(description="Reviews of the application so far, this one included.")
    score_so_far: float | None = Field(description="The application's score with the reviews in; final when "
                                                   "the call closes.")


class PolicyChanges(BaseModel):
    """The rules of a new version that differ from the latest version's; what is left out is carried over."""

    model_config = ConfigDict(extra="forbid")
    rubric_weights: dict[Criterion, float] | None = Field(default=None, description="Sum to 1.")
    p1_regional_bonus_points: float | None = Field(default=None, ge=0)
    p1_youth_bonus_points: float | None = Field(default=None, ge=0)
    p2_non_capital_bonus_points: float | None = Field(default=None, ge=0)
    capital_region: list[Region] | None = None
    youth_max_age_years: int | None = Field(default=None, ge=0, le=120)
    early_career_max_years_since_appointment: int | None = Field(default=None, ge=0, le=60)
    early_career_max_age_years: int | None = Field(default=None, ge=0, le=120)
    reviewers_per_application: int | None = Field(default=None, ge=1, le=20)
    min_reviews: int | None = Field(default=None, ge=1, le=20)
    p1_company_sizes: list[CompanySize] | None = Field(default=None, min_length=1)
    p1_max_gpus: int | None = Field(default=None, ge=1)
    p1_max_servers: int | None = Field(default=None, ge=1)
    server_gpus: int | None = Field(default=None, ge=1)
    p3_max_period_months: int | None = Field(default=None, ge=1)
    p3_min_window_months: int | None = Field(default=None, ge=1)
    p3_max_window_months: int | None = Field(default=None, ge=1)
    eligibility_base_points: float | None = Field(default=None, ge=0, le=100)


class PolicyIn(PolicyChanges):
    version: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z._-]+$")
    effective_from: AwareDatetime | None = Field(default=None, description="Default now; never in the past, and "
                                                                           "after the latest version's start.")


class PolicyOut(BaseModel):
    version: str
    effective_from: datetime
    rubric_weights: dict[str, float]
    p1_regional_bonus_points: float
    p1_youth_bonus_points: float
    p2_non_capital_bonus_points: float
    capital_region: list[str]
    youth_max_age_years: int
    early_career_max_years_since_appointment: int
    early_career_max_age_years: int
    reviewers_per_application: int
    min_reviews: int
    p1_company_sizes: list[str]
    p1_max_gpus: int
    p1_max_servers: int
    server_gpus: int
    p3_max_period_months: int
    p3_min_window_months: int
    p3_max_window_months: int
    eligibility_base_points: float
