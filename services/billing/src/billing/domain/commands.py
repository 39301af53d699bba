"""Billing's commands: what other services' events and the operators ask of it, and what its clock asks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from billing.domain.model import ProgramCode


@dataclass(frozen=True)
class OpenAccount:
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class CloseAccount:
    """The allocation's GPUs were reclaimed: bill up to `closed_at` and invoice now."""

    allocation_id: UUID
    closed_at: datetime


@dataclass(frozen=True)
class InvoiceEndedAccount:
    """Invoice the account if its period has ended by `at` and it is still open."""

    allocation_id: UUID
    at: datetime


@dataclass(frozen=True)
class RecordUsage:
    entry_id: UUID
    allocation_id: UUID
    application_id: UUID
    window_start: datetime
    window_end: datetime
    gpu_hours: Decimal
    utilization_pct: float
    recorded_at: datetime


@dataclass(frozen=True)
class SetTariff:
    gpu_model: str
    krw_per_gpu_hour: int
