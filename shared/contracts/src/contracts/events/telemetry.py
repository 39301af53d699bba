"""Events published by telemetry: measured usage, and utilization below the plan."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts import topics
from contracts.base import Event
from contracts.bounds import FiniteFloat, Instant, Line, NonNegativeFiniteFloat


class _Windowed(Event):
    window_start: Instant
    window_end: Instant

    @model_validator(mode="after")
    def _window_in_order(self) -> _Windowed:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


class UsageRecorded(_Windowed):
    """GPU-hours actually used by an allocation over a closed hour of CSP samples: once per allocation and hour, when
    the hour can take no more late samples."""

    type: Literal["telemetry.usage_recorded.v1"] = "telemetry.usage_recorded.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    gpu_hours: NonNegativeFiniteFloat
    utilization_pct: FiniteFloat = Field(ge=0, le=100)


class UtilizationDropped(_Windowed):
    """An allocation's use fell short of its plan: a warning, or the call to reclaim. `rule` names the reclaim
    policy's rule that fired, with its numbers: `mean_below_plan` compares the window's mean utilization with
    `threshold_pct`; `gpu_hours_below_plan` compares `actual_gpu_hours` with `required_gpu_hours` (a share of
    `planned_gpu_hours` over the window). `coverage` is the share of the expected samples that arrived."""

    type: Literal["telemetry.utilization_dropped.v1"] = "telemetry.utilization_dropped.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    level: Literal["warning", "reclaim"]
    utilization_pct: FiniteFloat = Field(ge=0, le=100)
    threshold_pct: FiniteFloat = Field(ge=0, le=100)
    rule: Literal["mean_below_plan", "gpu_hours_below_plan"] = "mean_below_plan"
    actual_gpu_hours: NonNegativeFiniteFloat | None = None
    planned_gpu_hours: NonNegativeFiniteFloat | None = None
    required_gpu_hours: NonNegativeFiniteFloat | None = None
    coverage: FiniteFloat | None = Field(default=None, ge=0, le=1)


class UtilizationRecovered(_Windowed):
    """A warned allocation is back at or above its threshold: the reclaim ladder starts over."""

    type: Literal["telemetry.utilization_recovered.v1"] = "telemetry.utilization_recovered.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    utilization_pct: FiniteFloat = Field(ge=0, le=100)
    threshold_pct: FiniteFloat = Field(ge=0, le=100)


class TelemetryStale(Event):
    """An allocation's telemetry is missing: no sample for a while (`silent`), or too few of the expected samples in
    its judging window (`low_coverage`). It is not judged on what did not arrive; the CSPs hosting it are named."""

    type: Literal["telemetry.telemetry_stale.v1"] = "telemetry.telemetry_stale.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    csps: list[Line] = Field(max_length=64)
    reason: Literal["silent", "low_coverage"]
    last_sample_at: Instant | None
    coverage: FiniteFloat | None = Field(default=None, ge=0, le=1)
    detected_at: Instant
