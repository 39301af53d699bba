"""The telemetry API's bodies: the CSPs' NDJSON sample batches, and what the API answers."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from servicekit.bounds import Instant, Line
from telemetry.domain.model import Allocation, Ladder, Policy, ProgramCode, Window

T = TypeVar("T")
NDJSON = "application/x-ndjson"
MAX_REPORTED_ERRORS = 100  # enough to fix a batch by; a batch of garbage must not answer with a megabyte


class SampleIn(BaseModel):
    """One NDJSON line: a GPU's DCGM busy % at an instant."""

    # strict: a JSON string is not a number and `true` is not a GPU index
    model_config = ConfigDict(extra="forbid", strict=True)
    server: Line = Field(min_length=1, max_length=255, examples=["p3-gov-01"])
    gpu_index: int = Field(ge=0, le=1023)
    ts: Instant
    utilization_pct: float = Field(ge=0, le=100, allow_inf_nan=False)


class BatchOut(BaseModel):
    accepted: int = Field(description="Samples stored by this batch.")
    duplicates: int = Field(description="Samples already stored (a re-sent batch), ignored.")
    allocations_evaluated: int = Field(description="Allocations whose utilization this batch re-evaluated.")


class UtilizationOut(BaseModel):
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpus: int
    planned_gpu_hours_per_month: int
    planned_pct: float = Field(description="Busy % the plan implies (at most 100).")
    threshold_pct: float = Field(description="warn_ratio * planned_pct: the ladder moves below it.")
    utilization_pct: float | None = Field(description="Mean busy % over the window; null before any sample.")
    window_start: datetime | None
    window_end: datetime | None
    samples_counted: int = Field(description="Samples in the window's mean.")
    last_sample_at: datetime | None
    ladder: Ladder
    warned_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, allocation: Allocation, window: Window | None, policy: Policy) -> UtilizationOut:
        measured: dict[str, object] = {"utilization_pct": None, "window_start": None, "window_end": None,
                                       "samples_counted": 0, "last_sample_at": None}
        if window is not None:
            measured = {"utilization_pct": window.utilization_pct, "window_start": window.start,
                        "window_end": window.end, "samples_counted": window.samples,
                        "last_sample_at": window.end}
        return cls.model_validate({
            "allocation_id": allocation.id, "application_id": allocation.application_id,
            "program": allocation.program, "gpus": allocation.gpus,
            "planned_gpu_hours_per_month": allocation.planned_gpu_hours_per_month,
            "planned_pct": allocation.planned_pct, "threshold_pct": allocation.threshold_pct(policy),
            "ladder": allocation.ladder, "warned_at": allocation.warned_at, "ended_at": allocation.ended_at,
            **measured})


def capped(errors: list[T], more: Callable[[str], T]) -> list[T]:
    """At most MAX_REPORTED_ERRORS errors, then one that says how many were left out."""
    if len(errors) <= MAX_REPORTED_ERRORS:
        return errors
    return [*errors[:MAX_REPORTED_ERRORS], more(f"{len(errors) - MAX_REPORTED_ERRORS} more errors not shown")]
