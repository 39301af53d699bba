"""Telemetry's settings: TELEMETRY_<SECTION>__<KEY>; the ladder's numbers are TELEMETRY_POLICY__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings
from telemetry.domain.model import HoursBasis, Policy, ProgramCode, Rule

# the route's own cap (body_limit), which the setting may lower, never raise
REMOTE_WRITE_BYTES_CEILING = 64 * 2**20


class PolicySettings(BaseModel):
    """Defaults from PROGRAM_RULES.md (reclaim policy defaults)."""

    warn_ratio: float = Field(default=0.30, gt=0, le=1,
                              description="Mean rule: warn below this share of the planned utilization.")
    window_days: int = Field(default=7, ge=1, le=366, description="Mean rule: days of trailing window.")
    hours_ratio: float = Field(default=0.50, gt=0, le=1,
                               description="GPU-hours rule: warn below this share of the planned GPU-hours.")
    hours_window_days: int = Field(default=14, ge=1, le=366, description="GPU-hours rule: days of trailing window.")
    hours_basis: HoursBasis = Field(default=HoursBasis.BUSY,
                                    description="GPU-hours rule: `busy` weighs each GPU-hour by its utilization "
                                                "(DCGM's share of time a kernel ran); `in_use` counts a whole "
                                                "GPU-hour for each sample at or above in_use_pct.")
    in_use_pct: float = Field(default=5.0, ge=0, le=100, description="A sample at or above this % is in use "
                                                                     "(hours_basis in_use).")
    rules: set[Rule] = Field(default=set(Rule), min_length=1,
                             description='The warning rules switched on (a JSON list, e.g. ["mean_below_plan"]).')
    grace_days: int = Field(default=7, ge=0, le=366, description="Days from the warning to the reclaim request.")
    sample_interval_s: int = Field(default=60, ge=1, le=3600,
                                   description="Seconds of GPU time one sample stands for: the slowest interval "
                                               "the CSPs report at (coverage expects one sample per GPU per "
                                               "interval).")
    min_coverage: float = Field(default=0.75, ge=0, le=1,
                                description="A window with a smaller share of its expected samples is not judged, "
                                            "and the allocation is flagged stale.")
    min_judged_hours: int = Field(default=24, ge=1, le=8784,
                                  description="A window with fewer hours of reserved time is not judged yet.")
    lateness_s: int = Field(default=7200, ge=60, le=7 * 86_400,
                            description="A sample dated more than this before the server's clock is late: its hour "
                                        "is closed and its usage published; dropped and counted.")
    stale_after_s: int = Field(default=3600, ge=60, le=30 * 86_400,
                               description="An allocation under way with no sample for this long is flagged stale.")
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
        return Policy(warn_ratio=self.warn_ratio, window_days=self.window_days, hours_ratio=self.hours_ratio,
                      hours_window_days=self.hours_window_days, hours_basis=self.hours_basis,
                      in_use_pct=self.in_use_pct, rules=frozenset(self.rules), grace_days=self.grace_days,
                      sample_interval_s=self.sample_interval_s, min_coverage=self.min_coverage,
                      min_judged_hours=self.min_judged_hours, max_clock_skew_s=self.max_clock_skew_s,
                      lateness_s=self.lateness_s, stale_after_s=self.stale_after_s,
                      monitored_programs=frozenset(self.monitored_programs))


# the NDJSON route's own cap (body_limit), which the ingest setting may lower, never raise
NDJSON_BYTES_CEILING = 128 * 2**20


class IngestSettings(BaseModel):
    """The ingest path's backpressure (POST /samples, POST /api/v1/write): how many sample requests the process
    and each CSP may have in flight at once (beyond: 503 / 429 with Retry-After, nothing queued), and the NDJSON
    body's cap. Counted per process: N API replicas take N times these."""

    max_in_flight: int = Field(default=8, ge=1, le=1024,
                               description="Sample requests this process works on at once, all CSPs together; "
                                           "one more gets 503 with Retry-After.")
    max_in_flight_per_csp: int = Field(default=4, ge=1, le=1024,
                                       description="Sample requests one CSP may have in flight at once; one more "
                                                   "gets 429 with Retry-After, so that no CSP starves the others.")
    retry_after_s: int = Field(default=5, ge=1, le=3600, description="Retry-After of those 429 and 503 answers.")
    ndjson_max_bytes: int = Field(default=NDJSON_BYTES_CEILING, ge=1024, le=NDJSON_BYTES_CEILING,
                                  description="A larger NDJSON batch gets 413: by its Content-Length before a byte "
                                              "is read, else once that many bytes arrived.")


class StorageSettings(BaseModel):
    """Raw samples and rollups: how long raw samples stay, and how often the worker closes hours, looks for
    silent allocations and keeps partitions."""

    raw_retention_days: int = Field(default=3, ge=1, le=3660,
                                    description="Days of raw samples kept (daily partitions dropped after); the "
                                                "hourly rollups stay. Must cover the lateness.")
    upkeep_interval_s: float = Field(default=60, gt=0, le=3600,
                                     description="Seconds between the worker's rounds of closing hours and "
                                                 "looking for silent allocations.")
    partition_interval_s: float = Field(default=3600, gt=0, le=86_400,
                                        description="Seconds between rounds of partition upkeep.")
    close_batch: int = Field(default=5000, ge=1, le=1_000_000, description="Hours closed per transaction.")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TELEMETRY_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "telemetry"

    default_port: ClassVar[int] = 8004
    default_fetch_wait_ms: ClassVar[int] = 100  # no decision waits on telemetry
    policy: PolicySettings = PolicySettings()
    ingest: IngestSettings = IngestSettings()
    storage: StorageSettings = StorageSettings()

    @model_validator(mode="after")
    def _raw_samples_outlive_lateness(self) -> Settings:
        if self.storage.raw_retention_days * 86_400 < self.policy.lateness_s + 3600:
            raise ValueError("storage.raw_retention_days must cover policy.lateness_s and an hour: an hour's raw "
                             "samples are read when it closes")
        return self
