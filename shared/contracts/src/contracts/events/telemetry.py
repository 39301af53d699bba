"""Events published by telemetry: measured usage, and utilization below the plan."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts import topics
from contracts.base import Event
from contracts.bounds import FiniteFloat, Instant, NonNegativeFiniteFloat


class _Windowed(Event):
    window_start: Instant
    window_end: Instant

    @model_validator(mode="after")
    def _window_in_order(self) -> _Windowed:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


class UsageRecorded(_Windowed):
    """GPU-hours actually used by an allocation over a window of CSP samples."""

    type: Literal["telemetry.usage_recorded.v1"] = "telemetry.usage_recorded.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    gpu_hours: NonNegativeFiniteFloat
    utilization_pct: FiniteFloat = Field(ge=0, le=100)


class UtilizationDropped(_Windowed):
    """An allocation's utilization fell below its threshold: a warning, or the call to reclaim."""

    type: Literal["telemetry.utilization_dropped.v1"] = "telemetry.utilization_dropped.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    level: Literal["warning", "reclaim"]
    utilization_pct: FiniteFloat = Field(ge=0, le=100)
    threshold_pct: FiniteFloat = Field(ge=0, le=100)


class UtilizationRecovered(_Windowed):
    """A warned allocation is back at or above its threshold: the reclaim ladder starts over."""

    type: Literal["telemetry.utilization_recovered.v1"] = "telemetry.utilization_recovered.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    utilization_pct: FiniteFloat = Field(ge=0, le=100)
    threshold_pct: FiniteFloat = Field(ge=0, le=100)
