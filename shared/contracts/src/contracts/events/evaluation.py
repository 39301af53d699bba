"""Events published by evaluation: an application scored, or rejected as ineligible."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts import topics
from contracts.base import Event
from contracts.bounds import Day, Line, NonNegativeFiniteFloat, PositiveInt32, SingleLine
from contracts.events.common import GpuModel, Program, Sector, Track

PolicyVersion = Annotated[str, Field(min_length=1, max_length=100), SingleLine]
# a failed rule is its name and why it failed, in one line: "p1_gpu_range: P1 grants 1 to 16 GPUs; 17 were requested"
FailedRule = Annotated[str, Field(min_length=1, max_length=2000), SingleLine]
# what evaluation found of the applicant on the submission day, under the score's policy: the facts its bonuses and
# track rest on (P1: youth and regional company; P2: early-career and non-capital researcher)
ScoredFact = Literal["youth_company", "regional_company", "early_career", "non_capital_region"]
# the facts of them that earn bonus points (early_career decides the track, not points)
BonusFact = Literal["youth_company", "regional_company", "non_capital_region"]
# the P1/P2 rubric's criteria, each scored 0..100 by every reviewer
Criterion = Literal["technical_social_impact", "ai_ecosystem_contribution", "capability_readiness"]
Points = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class ApplicationScored(Event):
    """An eligible application with its final score: what allocation needs to rank and place it."""

    type: Literal["evaluation.application_scored.v1"] = "evaluation.application_scored.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    program: Program
    call_id: UUID | None = None
    score: NonNegativeFiniteFloat = Field(description="Final score: weighted rubric plus bonus points.")
    policy_version: PolicyVersion
    track: Track = "general"
    institution: Line = Field(max_length=1000)
    gpus_requested: PositiveInt32
    gpu_model: GpuModel
    period_start: Day
    period_end: Day
    planned_gpu_hours_per_month: PositiveInt32
    servers_requested: PositiveInt32 | None = Field(default=None, description="P2: whole servers.")
    region: Annotated[str, Field(max_length=100), SingleLine] | None = None
    bonus_points: NonNegativeFiniteFloat = 0
    earliest_start: Day | None = Field(default=None, description="P3: the earliest acceptable start.")
    acceptable_window_months: int | None = Field(default=None, ge=1, le=4,
                                                 description="P3: a window this many months long is acceptable.")
    facts: list[ScoredFact] = Field(default_factory=list, max_length=4,
                                    description="The facts found true that bonuses and the track rest on (P1: "
                                                "youth_company, regional_company; P2: early_career, "
                                                "non_capital_region); empty for P3, and from publishers before it.")
    sector: Sector | None = Field(default=None, description="The applicant's sector; None from publishers before it.")
    rubric_means: dict[Criterion, Points] = Field(
        default_factory=dict, max_length=3,
        description="P1/P2: each rubric criterion's mean review score (0-100), unrounded; empty for P3, and from "
                    "publishers before it. With the policy's weights it gives the rubric part of the score.")
    bonuses: dict[BonusFact, Points] = Field(
        default_factory=dict, max_length=3,
        description="The bonus facts earned, each with the points it added (their sum is bonus_points); empty for "
                    "P3, and from publishers before it.")

    @model_validator(mode="after")
    def _period_in_order(self) -> ApplicationScored:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class ApplicationRejected(Event):
    """The application failed an eligibility rule; it goes no further."""

    type: Literal["evaluation.application_rejected.v1"] = "evaluation.application_rejected.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    program: Program
    failed_rules: list[FailedRule] = Field(min_length=1, max_length=1000)
    policy_version: PolicyVersion
    offer_id: UUID | None = Field(default=None, description="Set when the re-check before an offer failed.")


class ApplicationInReview(Event):
    """Reviewers were assigned to a P1/P2 application."""

    type: Literal["evaluation.application_in_review.v1"] = "evaluation.application_in_review.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    reviewers: PositiveInt32


class RoundScored(Event):
    """Every application of a closed call has its final score (or was rejected): selection can run."""

    type: Literal["evaluation.round_scored.v1"] = "evaluation.round_scored.v1"
    topic: ClassVar[str] = topics.ROUNDS
    subject_field: ClassVar[str] = "call_id"
    call_id: UUID
    program: Program
    scored: list[UUID]
    rejected: list[UUID]
    policy_version: PolicyVersion


class EligibilityConfirmed(Event):
    """The re-check before an offer passed: allocation may make the offer."""

    type: Literal["evaluation.eligibility_confirmed.v1"] = "evaluation.eligibility_confirmed.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    offer_id: UUID
    policy_version: PolicyVersion
