"""Evaluation's settings: EVALUATION_<SECTION>__<KEY>. The policy numbers here only seed version 2026.1.

Once seeded, the policy lives in the policy_version table and changes only by a new, scheduled version
(POST /policies), which must keep the platform's numbers (EVALUATION_PLATFORM__*) — see docs/evaluation.md.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, Field, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.events.common import CAPITAL_REGION
from evaluation.domain.policy import CRITERIA, Policy
from evaluation.domain.policy_bounds import ChangeRules, Platform, platform_problems, policy_problems
from servicekit.settings import ServiceSettings


class PolicySeed(BaseModel):
    """The first policy version: PROGRAM_RULES.md's defaults (EVALUATION_SEED_POLICY__<KEY>)."""

    version: str = Field(default="2026.1", min_length=1)
    effective_from: AwareDatetime = datetime(2026, 1, 1, tzinfo=UTC)
    rubric_weights: dict[str, float] = Field(default={c: 1 / 3 for c in CRITERIA},
                                             description="Weight of each review criterion; they sum to 1.")
    p1_regional_bonus_points: float = Field(default=3, ge=0, description="P1: head office outside the capital.")
    p1_youth_bonus_points: float = Field(default=3, ge=0, description="P1: representative aged at most the "
                                                                      "youth age on the submission day.")
    p2_non_capital_bonus_points: float = Field(default=3, ge=0, description="P2: researcher outside the capital.")
    capital_region: list[str] = Field(default=sorted(CAPITAL_REGION), description="Seoul, Incheon, Gyeonggi.")
    youth_max_age_years: int = Field(default=39, ge=0)
    early_career_max_years_since_appointment: int = Field(default=7, ge=0)
    early_career_max_age_years: int = Field(default=39, ge=0)
    reviewers_per_application: int = Field(default=3, ge=1)
    min_reviews: int = Field(default=2, ge=1, description="Reviews that make a P1/P2 score final.")
    p1_company_sizes: list[str] = Field(default=["small", "startup"], min_length=1)
    p1_max_gpus: int = Field(default=16, ge=1, description="P1: most GPUs one applicant may request.")
    p1_max_servers: int = Field(default=2, ge=1, description="P1: most servers one request may span.")
    server_gpus: int = Field(default=8, ge=1, description="GPUs per server; P2 gives whole servers.")
    p3_max_period_months: int = Field(default=12, ge=1, description="P3: longest period, in months.")
    p3_min_window_months: int = Field(default=1, ge=1, description="P3: shortest idle window one may ask for.")
    p3_max_window_months: int = Field(default=4, ge=1, description="P3: longest idle window one may ask for.")
    eligibility_base_points: float = Field(default=40.0, ge=0, le=100,
                                           description="P3 readiness score points for passing eligibility.")

    def policy(self) -> Policy:
        data = self.model_dump()
        return Policy(effective_at=data.pop("effective_from"), **data)

    @model_validator(mode="after")
    def _sound(self) -> PolicySeed:
        problems = policy_problems(self.policy())
        if problems:
            raise ValueError("; ".join(f"{f}: {r}" for f, r in problems))
        return self


class PlatformSettings(BaseModel):
    """EVALUATION_PLATFORM__*: numbers intake and allocation hold too; set them to the same values there."""

    server_gpus: int = Field(default=8, ge=1, le=16, description="GPUs per server: INTAKE_FORMS__SERVER_GPUS and "
                                                                 "ALLOCATION_INVENTORY__SERVER_GPUS.")
    p1_max_gpus: int = Field(default=16, ge=1, le=16, description="P1's most GPUs: INTAKE_FORMS__P1_MAX_GPUS and "
                                                                  "ALLOCATION_SELECTION__P1_MAX_GPUS.")
    p1_max_servers: int = Field(default=2, ge=1, le=4, description="P1's most servers: INTAKE_FORMS__P1_MAX_SERVERS "
                                                                   "and ALLOCATION_SELECTION__P1_MAX_SERVERS.")


class PolicyChangeSettings(BaseModel):
    """EVALUATION_POLICY_CHANGES__*: how far ahead a new policy version must be scheduled."""

    min_notice_s: int = Field(default=300, ge=0, le=30 * 86_400, description=(
        "A new version takes effect at least this many seconds after it is created (default 5 minutes), so a "
        "decision under way never changes rules mid-flight and operators can preview and cancel it."))


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVALUATION_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "evaluation"

    default_port: ClassVar[int] = 8002
    seed_policy: PolicySeed = PolicySeed()
    platform: PlatformSettings = PlatformSettings()
    policy_changes: PolicyChangeSettings = PolicyChangeSettings()

    def change_rules(self) -> ChangeRules:
        return ChangeRules(platform=Platform(**self.platform.model_dump()),
                           min_notice=timedelta(seconds=self.policy_changes.min_notice_s))

    @model_validator(mode="after")
    def _seed_fits_the_platform(self) -> Settings:
        problems = platform_problems(self.seed_policy.policy(), self.change_rules().platform)
        if problems:
            raise ValueError("seed_policy: " + "; ".join(f"{f}: {r}" for f, r in problems))
        return self
