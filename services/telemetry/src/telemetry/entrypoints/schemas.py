"""The telemetry API's bodies: the CSPs' NDJSON sample batches, and what the API answers."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from servicekit.bounds import Instant, Line
from telemetry.domain.dcgm import MAX_MEMORY_MIB, MAX_POWER_W
from telemetry.domain.model import Allocation, Finding, Ladder, Policy, ProgramCode, Rule, Step
from telemetry.domain.rollups import HourFigures

T = TypeVar("T")
NDJSON = "application/x-ndjson"
MAX_REPORTED_ERRORS = 100  # enough to fix a batch by; a batch of garbage must not answer with a megabyte


class SampleIn(BaseModel):
    """One NDJSON line: a GPU's DCGM busy % at an instant, and its memory in use and power draw if known."""

    # strict: a JSON string is not a number and `true` is not a GPU index
    model_config = ConfigDict(extra="forbid", strict=True)
    server: Line = Field(min_length=1, max_length=255, examples=["p3-gov-01"])
    gpu_index: int = Field(ge=0, le=1023)
    ts: Instant
    utilization_pct: float = Field(ge=0, le=100, allow_inf_nan=False)
    memory_used_mib: float | None = Field(default=None, ge=0, le=MAX_MEMORY_MIB, allow_inf_nan=False,
                                          description="Frame-buffer memory in use (DCGM_FI_DEV_FB_USED), MiB.")
    power_w: float | None = Field(default=None, ge=0, le=MAX_POWER_W, allow_inf_nan=False,
                                  description="Power draw (DCGM_FI_DEV_POWER_USAGE), W.")


class BatchOut(BaseModel):
    accepted: int = Field(description="Samples stored by this batch.")
    duplicates: int = Field(description="Samples already stored (a re-sent batch), ignored.")
    refused_late: int = Field(default=0, description="Samples dated before the policy's lateness, whose hour is "
                                                     "closed: dropped and counted.")
    allocations_evaluated: int = Field(description="Allocations whose utilization this batch re-evaluated.")


class RuleOut(BaseModel):
    """One warning rule over its window, as it stands."""

    rule: Rule
    window_start: datetime
    window_end: datetime
    hours: float = Field(description="Hours of the window within the judged period.")
    reserved_gpu_hours: float
    samples: int
    coverage: float = Field(description="Share of the expected samples (one per GPU per sample interval) that "
                                        "arrived, at most 1.")
    utilization_pct: float
    judged: bool = Field(description="Whether the window has enough data to be judged (hours and coverage).")
    value: float = Field(description="The mean utilization % (mean_below_plan) or the actual GPU-hours "
                                     "(gpu_hours_below_plan).")
    limit: float = Field(description="The threshold % or the required GPU-hours the value is held against.")
    planned_gpu_hours: float = Field(description="The plan's GPU-hours over the window.")
    short: bool = Field(description="Whether the value is below the limit.")

    @classmethod
    def of(cls, finding: Finding, policy: Policy) -> RuleOut:
        m = finding.measured
        return cls(rule=finding.rule, window_start=m.start, window_end=m.end, hours=m.hours,
                   reserved_gpu_hours=m.reserved_gpu_hours, samples=m.samples, coverage=m.coverage,
                   utilization_pct=m.utilization_pct, judged=policy.judgeable(m), value=finding.value,
                   limit=finding.limit, planned_gpu_hours=finding.planned_gpu_hours, short=finding.short)


class UtilizationOut(BaseModel):
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    monitored: bool = Field(description="Whether the allocation's program is judged on the reclaim ladder.")
    gpus: int
    planned_gpu_hours_per_month: int
    planned_pct: float = Field(description="Busy % the plan implies (at most 100).")
    threshold_pct: float = Field(description="warn_ratio * planned_pct: the mean rule's threshold.")
    utilization_pct: float | None = Field(description="Mean busy % over the mean rule's window; null before any "
                                                      "sample.")
    window_start: datetime | None
    window_end: datetime | None
    samples_counted: int = Field(description="Samples in the window's mean.")
    last_sample_at: datetime | None
    rules: list[RuleOut] = Field(description="Each warning rule switched on, over its window.")
    ladder: Ladder
    warned_at: datetime | None
    waived_at: datetime | None
    stale_since: datetime | None = Field(description="Since when too little telemetry arrives to judge it.")
    ended_at: datetime | None

    @classmethod
    def of(cls, allocation: Allocation, findings: list[Finding], last: datetime | None,
           policy: Policy) -> UtilizationOut:
        mean = next((f.measured for f in findings if f.rule is Rule.MEAN_BELOW_PLAN), None)
        return cls(
            allocation_id=allocation.id, application_id=allocation.application_id, program=allocation.program,
            monitored=policy.monitors(allocation.program), gpus=allocation.gpus,
            planned_gpu_hours_per_month=allocation.planned_gpu_hours_per_month,
            planned_pct=allocation.planned_pct, threshold_pct=allocation.threshold_pct(policy),
            utilization_pct=mean.utilization_pct if mean and mean.samples else None,
            window_start=mean.start if mean else None, window_end=mean.end if mean else None,
            samples_counted=mean.samples if mean else 0, last_sample_at=last,
            rules=[RuleOut.of(f, policy) for f in findings], ladder=allocation.ladder, warned_at=allocation.warned_at,
            waived_at=allocation.waived_at, stale_since=allocation.stale_since, ended_at=allocation.ended_at)


class HourOut(BaseModel):
    hour: datetime
    reserved_gpu_hours: float
    busy_gpu_hours: float = Field(description="Mean utilization over the GPU-hours the samples cover.")
    coverage: float
    utilization_pct: float
    utilization_pct_p95: float | None = Field(description="Read from the raw samples once the hour is closed.")
    memory_used_mib: float | None = Field(description="Mean frame-buffer memory in use per GPU.")
    energy_kwh: float | None
    samples: int
    closed: bool = Field(description="Closed hours take no more samples; their usage is published.")

    @classmethod
    def of(cls, figures: HourFigures) -> HourOut:
        return cls(**dataclasses.asdict(figures))


class HourlyOut(BaseModel):
    allocation_id: UUID
    start: datetime
    end: datetime
    hours: list[HourOut] = Field(description="Hours with samples, in order; an hour without any is left out.")


class StepOut(BaseModel):
    step: Step
    at: datetime
    rule: Rule | None
    value: float | None
    limit: float | None
    planned_gpu_hours: float | None
    utilization_pct: float | None
    coverage: float | None
    window_start: datetime | None
    window_end: datetime | None
    reason: str


class LadderOut(BaseModel):
    allocation_id: UUID
    ladder: Ladder
    steps: list[StepOut] = Field(description="Every step, oldest first, with the numbers that moved it.")


class ServerFreshnessOut(BaseModel):
    server: str
    gpus: int = Field(description="GPUs of the server that have reported.")
    last_sample_at: datetime
    age_s: float = Field(description="Seconds from the newest sample to now.")


class FreshnessOut(BaseModel):
    csp_id: UUID
    servers: list[ServerFreshnessOut]


class StaleOut(BaseModel):
    allocation_id: UUID
    application_id: UUID
    csps: list[str]
    stale_since: datetime
    reason: str


def capped(errors: list[T], more: Callable[[str], T]) -> list[T]:
    """At most MAX_REPORTED_ERRORS errors, then one that says how many were left out."""
    if len(errors) <= MAX_REPORTED_ERRORS:
        return errors
    return [*errors[:MAX_REPORTED_ERRORS], more(f"{len(errors) - MAX_REPORTED_ERRORS} more errors not shown")]
