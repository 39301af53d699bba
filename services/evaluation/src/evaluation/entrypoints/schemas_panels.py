"""The bodies of reviewers, their assignments and reviews (policy versions: schemas_policies.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import Program
from servicekit.bounds import FiniteFloat, Name, SingleLine

Criterion = Literal["technical_social_impact", "ai_ecosystem_contribution", "capability_readiness"]
CompanySize = Literal["startup", "small", "mid", "large"]
Expertise = Annotated[str, Field(min_length=1, max_length=100), SingleLine]


class ReviewerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    institution: Name
    expertise: list[Expertise] = Field(default_factory=list, max_length=20,
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
    program: Program
    call_id: UUID | None
    status: str = Field(description="The application's evaluation status.")
    assigned_at: datetime
    reviewed_at: datetime | None
    scores: dict[str, float] | None


class CriterionScores(BaseModel):
    model_config = ConfigDict(extra="forbid")
    technical_social_impact: FiniteFloat = Field(ge=0, le=100)
    ai_ecosystem_contribution: FiniteFloat = Field(ge=0, le=100)
    capability_readiness: FiniteFloat = Field(ge=0, le=100)


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
