"""Billing's commands: what other services' events, the operators and the invoicing clock ask of it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from billing.domain.ledger import Cause, Grant, MarketPrice, Profile


@dataclass(frozen=True)
class RecordApplication:
    """Intake announced an application: who pays for it, if it is allocated."""

    profile: Profile
    cause: Cause


@dataclass(frozen=True)
class RecordYouth:
    """Evaluation found whether a P1 applicant is a youth company."""

    application_id: UUID
    youth: bool
    cause: Cause


@dataclass(frozen=True)
class OpenGrant:
    grant: Grant
    cause: Cause


@dataclass(frozen=True)
class EndGrant:
    """The allocation's GPUs were reclaimed (or released on withdrawal) at `ended_at`: billing stops there."""

    allocation_id: UUID
    ended_at: datetime
    cause: Cause


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
class SetMarketPrice:
    price: MarketPrice
    by: str


@dataclass(frozen=True)
class RecordRelease:
    """An operator recorded the project's results released as open source."""

    application_id: UUID
    url: str
    released_on: date
    by: str


@dataclass(frozen=True)
class RunInvoicing:
    """Redraw the drafts from the ledger as of `at`, and issue those that waited long enough."""

    at: datetime


@dataclass(frozen=True)
class IssueDocument:
    document_id: UUID
    by: str


@dataclass(frozen=True)
class RecordPayment:
    document_id: UUID
    paid_on: date
    reference: str
    by: str


@dataclass(frozen=True)
class VoidDocument:
    """An issued invoice is cancelled; its ledger lines are drafted again in the next round."""

    document_id: UUID
    reason: str
    by: str
