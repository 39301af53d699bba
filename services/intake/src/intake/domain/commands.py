"""Intake's commands: what a partner asks, and what other services' outcomes tell it to record."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from intake.domain.model import Applicant, Status


@dataclass(frozen=True)
class SubmitApplication:
    partner_id: UUID
    program: str
    call_id: UUID | None
    applicant: Applicant
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    purpose: str


@dataclass(frozen=True)
class WithdrawApplication:
    application_id: UUID
    partner_id: UUID
    reason: str


@dataclass(frozen=True)
class RecordOutcome:
    application_id: UUID
    status: Status
    reason: str
    at: datetime
