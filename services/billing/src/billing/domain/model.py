"""Billing's policy (the settings' prices and shares) and the usage telemetry it keeps for information.

The arithmetic of what is owed lives in billing.domain.ledger.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from billing.domain.ledger import ProgramCode, Shares

__all__ = ["BillingPolicy", "ProgramCode", "UsageEntry"]


@dataclass(frozen=True)
class BillingPolicy:
    """What the settings decide: the price of a CSP's GPU model with no market price set, and who pays which share;
    `review_days` is how long a drafted document waits for the operators before it is issued by itself."""

    default_krw_per_gpu_hour: int
    shares: Shares
    review_days: int = 0


@dataclass(frozen=True)
class UsageEntry:
    """GPU-hours telemetry measured over a window: shown beside the charge, not billed (the reserved time is)."""

    id: UUID
    allocation_id: UUID
    application_id: UUID
    window_start: datetime
    window_end: datetime
    gpu_hours: Decimal
    utilization_pct: float
    recorded_at: datetime
