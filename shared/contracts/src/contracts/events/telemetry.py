"""Events published by telemetry: measured usage, and utilization below the plan."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, NonNegativeFloat

from contracts import topics
from contracts.base import Event


class UsageRecorded(Event):
    """GPU-hours actually used by an allocation over a window of CSP samples."""

    type: Literal["telemetry.usage_recorded.v1"] = "telemetry.usage_recorded.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    window_start: AwareDatetime
    window_end: AwareDatetime
    gpu_hours: NonNegativeFloat
    utilization_pct: float = Field(ge=0, le=100)


class UtilizationDropped(Event):
    """An allocation's utilization fell below its threshold: a warning, or the call to reclaim."""

    type: Literal["telemetry.utilization_dropped.v1"] = "telemetry.utilization_dropped.v1"
    topic: ClassVar[str] = topics.UTILIZATION
    application_id: UUID
    allocation_id: UUID
    level: Literal["warning", "reclaim"]
    utilization_pct: float = Field(ge=0, le=100)
    threshold_pct: float = Field(ge=0, le=100)
    window_start: AwareDatetime
    window_end: AwareDatetime
