"""Telemetry's commands: what allocation's events tell it to track, and what a CSP reports."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from telemetry.domain.model import ProgramCode, Sample, Slot


@dataclass(frozen=True)
class TrackAllocation:
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpus: int
    starts_at: datetime
    ends_at: datetime
    planned_gpu_hours_per_month: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class EndAllocation:
    allocation_id: UUID
    ended_at: datetime


@dataclass(frozen=True)
class RecordSamples:
    """A CSP's batch: `csp` must own every tracked server it names; `line_numbers` are the samples' batch lines."""

    samples: tuple[Sample, ...]
    csp: str
    line_numbers: tuple[int, ...]
