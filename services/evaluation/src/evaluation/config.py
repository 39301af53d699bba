"""Evaluation's settings: EVALUATION_<SECTION>__<KEY>, and the scoring policy's numbers (EVALUATION_<KEY>)."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from evaluation.domain.model import Policy
from servicekit.settings import HttpSettings, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVALUATION_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "evaluation"

    http: HttpSettings = HttpSettings(port=8002)

    policy_version: str = Field(default="2026.1", min_length=1, description="Stamped on every evaluation.")
    p1_max_gpus: int = Field(default=16, ge=1, description="P1: most GPUs one applicant may request.")
    server_gpus: int = Field(default=8, ge=1, description="P2: GPUs per server; P2 gives whole servers.")
    p3_max_period_months: int = Field(default=12, ge=1, description="P3: longest period, in months.")
    eligibility_base_points: float = Field(default=40.0, ge=0, le=100,
                                           description="Readiness score points for passing eligibility.")

    def policy(self) -> Policy:
        return Policy(version=self.policy_version, p1_max_gpus=self.p1_max_gpus, server_gpus=self.server_gpus,
                      p3_max_period_months=self.p3_max_period_months,
                      eligibility_base_points=self.eligibility_base_points)
