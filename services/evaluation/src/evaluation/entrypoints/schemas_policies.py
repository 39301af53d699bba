"""The bodies of policy versions, their audit and previews; every rule's bounds come from domain/policy_bounds.py."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events.common import Program, Region
from evaluation.domain.policy import State
from evaluation.domain.policy_bounds import BOUNDS
from servicekit.bounds import FiniteFloat, Instant

Criterion = Literal["technical_social_impact", "ai_ecosystem_contribution", "capability_readiness"]
CompanySize = Literal["startup", "small", "mid", "large"]
Weight = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
REGIONS = 17

WEIGHTS = ("Weight of each review criterion, 0 to 1; all three criteria, summing to 1 (read to 1/10,000).")
CAPITAL = "Regions of the capital area: outside them a company is regional (P1 bonus) and a researcher non-capital."
SIZES = "P1: company sizes eligible, at least one."


def _bounded(name: str) -> Any:
    bound = BOUNDS[name]
    return Field(default=None, ge=bound.low, le=bound.high, description=bound.describe())


def _described(name: str) -> Any:
    return Field(description=BOUNDS[name].describe())


class PolicyChanges(BaseModel):
    """The rules of a new version that differ from the latest version's; what is left out is carried over."""

    model_config = ConfigDict(extra="forbid")
    rubric_weights: dict[Criterion, Weight] | None = Field(default=None, description=WEIGHTS)
    p1_regional_bonus_points: FiniteFloat | None = _bounded("p1_regional_bonus_points")
    p1_youth_bonus_points: FiniteFloat | None = _bounded("p1_youth_bonus_points")
    p2_non_capital_bonus_points: FiniteFloat | None = _bounded("p2_non_capital_bonus_points")
    capital_region: list[Region] | None = Field(default=None, min_length=1, max_length=REGIONS, description=CAPITAL)
    youth_max_age_years: int | None = _bounded("youth_max_age_years")
    early_career_max_years_since_appointment: int | None = _bounded("early_career_max_years_since_appointment")
    early_career_max_age_years: int | None = _bounded("early_career_max_age_years")
    reviewers_per_application: int | None = _bounded("reviewers_per_application")
    min_reviews: int | None = _bounded("min_reviews")
    p1_company_sizes: list[CompanySize] | None = Field(default=None, min_length=1, max_length=4, description=SIZES)
    p1_max_gpus: int | None = _bounded("p1_max_gpus")
    p1_max_servers: int | None = _bounded("p1_max_servers")
    server_gpus: int | None = _bounded("server_gpus")
    p3_max_period_months: int | None = _bounded("p3_max_period_months")
    p3_min_window_months: int | None = _bounded("p3_min_window_months")
    p3_max_window_months: int | None = _bounded("p3_max_window_months")
    eligibility_base_points: FiniteFloat | None = _bounded("eligibility_base_points")


class PolicyIn(PolicyChanges):
    """A new version: its name, its start, and the rules that change (bounds, invariants: docs/evaluation.md)."""

    version: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z._-]+$")
    effective_at: Instant = Field(description=(
        "When the version takes effect: at least the minimum notice from now (EVALUATION_POLICY_CHANGES__"
        "MIN_NOTICE_S, default 5 minutes) and after the start of the latest version not cancelled."))


class PolicyRulesOut(BaseModel):
    rubric_weights: dict[str, float] = Field(description=WEIGHTS)
    p1_regional_bonus_points: float = _described("p1_regional_bonus_points")
    p1_youth_bonus_points: float = _described("p1_youth_bonus_points")
    p2_non_capital_bonus_points: float = _described("p2_non_capital_bonus_points")
    capital_region: list[str] = Field(description=CAPITAL)
    youth_max_age_years: int = _described("youth_max_age_years")
    early_career_max_years_since_appointment: int = _described("early_career_max_years_since_appointment")
    early_career_max_age_years: int = _described("early_career_max_age_years")
    reviewers_per_application: int = _described("reviewers_per_application")
    min_reviews: int = _described("min_reviews")
    p1_company_sizes: list[str] = Field(description=SIZES)
    p1_max_gpus: int = _described("p1_max_gpus")
    p1_max_servers: int = _described("p1_max_servers")
    server_gpus: int = _described("server_gpus")
    p3_max_period_months: int = _described("p3_max_period_months")
    p3_min_window_months: int = _described("p3_min_window_months")
    p3_max_window_months: int = _described("p3_max_window_months")
    eligibility_base_points: float = _described("eligibility_base_points")


class ChangeOut(BaseModel):
    at: datetime
    by: str = Field(description="The access token's subject: the client that made the change.")
    role: str = Field(description="The role of that token (operator).")


class PolicyOut(PolicyRulesOut):
    version: str
    effective_at: datetime = Field(description="The version governs every decision dated from this instant until "
                                               "the next version's start.")
    state: State = Field(description="scheduled (not yet in effect, can be cancelled), in_force, superseded or "
                                     "cancelled, by the service's clock now.")
    created: ChangeOut
    cancelled: ChangeOut | None = Field(description="Who withdrew the version before its start, if anyone did.")


class ProposedOut(PolicyRulesOut):
    version: str
    effective_at: datetime


class FieldProblemOut(BaseModel):
    field: str
    reason: str


class RescoredOut(BaseModel):
    application_id: UUID
    program: Program
    call_id: UUID | None
    recorded_score: float | None = Field(description="The score stored now (final or so far).")
    recorded_policy_version: str
    current_score: float | None = Field(description="Its score under the version in force now, from the stored "
                                                    "submission and reviews; null where ineligible under it.")
    proposed_score: float | None = Field(description="Its score under the proposal; null where ineligible under it.")
    difference: float | None = Field(description="proposed_score - current_score.")
    proposed_failed_rules: list[str] = Field(description="The rules it would fail under the proposal.")


class PreviewOut(BaseModel):
    valid: bool = Field(description="Whether POST /policies would accept this body now.")
    errors: list[FieldProblemOut] = Field(description="Each field POST /policies would refuse, and why.")
    at: datetime = Field(description="The instant the preview was computed for.")
    in_force_version: str = Field(description="The version in force at that instant, the one compared against.")
    proposed: ProposedOut | None = Field(description="The proposal with the rules it carries over; null if invalid.")
    applications: list[RescoredOut] = Field(description="Scored applications, newest decision first; empty when "
                                                        "the proposal is invalid.")
