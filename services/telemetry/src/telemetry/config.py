"""Telemetry's settings: TELEMETRY_<SECTION>__<KEY>; the ladder's numbers are TELEMETRY_POLICY__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings
from telemetry.domain.model import Policy


class PolicySettings(BaseModel):
    """Defaults from PROGRAM_RULES.md (reclaim policy defaults)."""

    warn_ratio: float = Field(default=0.30, gt=0, le=1,
                              description="Warn below this share of the planned utilization.")
    window_days: int = Field(default=7, ge=1, le=366, description="Days of trailing window the mean is taken over.")
    grace_days: int = Field(default=7, ge=0, le=366, description="Days from the warning to the reclaim request.")
    sample_interval_s: int = Field(default=60, ge=1, description="Seconds of GPU time one sample stands for.")
    max_batch_lines: int = Field(default=100_000, ge=1, description="Larger NDJSON batches get 413.")
    max_line_bytes: int = Field(default=1024, ge=64, le=65_536, description="A longer NDJSON line is named as "
                                                                           "invalid (422).")

    def ladder(self) -> Policy:
        return Policy(warn_ratio=self.warn_ratio, window_days=self.window_days, grace_days=self.grace_days,
                      sample_interval_s=self.sample_interval_s)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TELEMETRY_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "telemetry"

    default_port: ClassVar[int] = 8004
    policy: PolicySettings = PolicySettings()
