"""Events published by evaluation: an application scored, or rejected as ineligible."""
from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field, PositiveInt, model_validator

from contracts import topics
from contracts.base import Event
from contracts.events.common import GpuModel, Program, Track


class ApplicationScored(Event):
    """An eligible application with its final score: what allocation needs to rank and place it."""

    type: Literal["evaluation.application_scored.v1"] = "evaluation.application_scored.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    program: Program
    call_id: UUID | None = None
    score: float = Field(ge=0, description="Final score: weighted rubric plus bonus points.")
    policy_version: str
    track: Track = "general"
    institution: str
    gpus_requested: PositiveInt
    gpu_model: GpuModel
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: PositiveInt
    servers_requested: PositiveInt | None = Field(default=None, description="P2: whole servers.")
    region: str | None = None
    bonus_points: float = Field(default=0, ge=0)
    earliest_start: date | None = Field(default=None, description="P3: the earliest acceptable start.")
    acceptable_window_months: int | None = Field(default=None, ge=1, le=4,
                                                 description="P3: a window this many months long is acceptable.")

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
    failed_rules: list[str] = Field(min_length=1)
    policy_version: str
    offer_id: UUID | None = Field(default=None, description="Set when the re-check before an offer failed.")


class ApplicationInReview(Event):
    """Reviewers were assigned to a P1/P2 application."""

    type: Literal["evaluation.application_in_review.v1"] = "evaluation.application_in_review.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    reviewers: PositiveInt


class RoundScored(Event):
    """Every application of a closed call has its final score (or was rejected): selection can run."""

    type: Literal["evaluation.round_scored.v1"] = "evaluation.round_scored.v1"
    topic: ClassVar[str] = topics.ROUNDS
    subject_field: ClassVar[str] = "call_id"
    call_id: UUID
    program: Program
    scored: list[UUID]
    rejected: list[UUID]
    policy_version: str


class EligibilityConfirmed(Event):
    """The re-check before an offer passed: allocation may make the offer."""

    type: Literal["evaluation.eligibility_confirmed.v1"] = "evaluation.eligibility_confirmed.v1"
    topic: ClassVar[str] = topics.SCORES
    application_id: UUID
    offer_id: UUID
    policy_version: str
