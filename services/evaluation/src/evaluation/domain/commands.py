"""Evaluation's commands: what other services' events ask it to do."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from evaluation.domain.model import Applicant


@dataclass(frozen=True)
class EvaluateApplication:
    """Check a submitted application's eligibility and, where its program allows, score it."""

    application_id: UUID
    program: str
    call_id: UUID | None
    applicant: Applicant
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    submitted_at: datetime
