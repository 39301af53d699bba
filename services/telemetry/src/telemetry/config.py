"""Telemetry's settings: TELEMETRY_<SECTION>__<KEY>; the ladder's numbers are TELEMETRY_POLICY__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings
from telemetry.domain.model import Policy, ProgramCode

# the route's own cap (body_limit), which the setting may lower, never raise
REMOTE_WRITE_BYTES_CEILING = 64 * 2**20


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
    max_clock_skew_s: int = Field(default=300, ge=0, le=86_400,
                                  description="A sample dated more than this after the server's clock is refused: "
                                              "422 naming its NDJSON line; dropped and counted in remote-write.")
    remote_write_max_bytes: int = Field(default=8 * 2**20, ge=1024, le=REMOTE_WRITE_BYTES_CEILING,
                                        description="A larger remote-write body (snappy-compressed) gets 413.")
    remote_write_max_decoded_bytes: int = Field(default=32 * 2**20, ge=1024, le=256 * 2**20,
                                                description="A remote-write body whose snappy block declares more "
                                                            "bytes uncompressed gets 413, before it is decompressed.")
    monitored_programs: set[ProgramCode] = Field(
        default={"P3"}, description="The programs whose allocations are judged on the reclaim ladder (a JSON list, "
                                    'e.g. ["P1", "P2", "P3"]); the others have their usage recorded, never judged.')
    remote_write_max_samples: int = Field(default=100_000, ge=1, le=10_000_000,
                                          description="A remote-write batch with more samples gets 413.")

    def ladder(self) -> Policy:
        return Policy(warn_ratio=self.warn_ratio, window_days=self.window_days, grace_days=self.grace_days,
                      sample_interval_s=self.sample_interval_s, max_clock_skew_s=self.max_clock_skew_s,
                      monitored_programs=frozenset(self.monitored_programs))


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TELEMETRY_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "telemetry"

    default_port: ClassVar[int] = 8004
    policy: PolicySettings = PolicySettings()
