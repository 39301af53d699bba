"""Intake's commands: what partners and operators ask (webhooks included), and what other services' outcomes tell it
to record."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from intake.domain.forms import Form
from intake.domain.model import Status
from intake.domain.offers import Offer
from intake.domain.types import ProgramCode


@dataclass(frozen=True)
class CreateApplication:
    """A new application from its form: submitted at once, or kept as a draft."""

    partner_id: UUID
    form: Form
    submit: bool = True


@dataclass(frozen=True)
class EditDraft:
    """Replace a draft's form (and submit it at once if `submit`)."""

    application_id: UUID
    partner_id: UUID
    form: Form
    submit: bool = False


@dataclass(frozen=True)
class SubmitApplication:
    """Submit a draft."""

    application_id: UUID
    partner_id: UUID


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


@dataclass(frozen=True)
class NotifyDocument:
    """Billing issued a document (an invoice, a credit note) for the partner's applications: its webhooks hear of it
    (`event` is the webhook event's name, `document` the summary its body carries)."""

    partner_id: UUID
    event: str
    document: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class NotifyUsage:
    """Telemetry's word on an active application's GPUs (a low-utilization warning, a recovery): no status change,
    but the partner hears of it, with the numbers, so that an idle job can be fixed before the GPUs are lost."""

    application_id: UUID
    reason: str
    at: datetime


@dataclass(frozen=True)
class RecordOffer:
    """Allocation offers freed capacity to the application: it is `offered` until the partner answers."""

    application_id: UUID
    offer: Offer


@dataclass(frozen=True)
class ExpireOffer:
    """Allocation let the offer lapse unanswered: the application is declined."""

    application_id: UUID
    offer_id: UUID
    at: datetime


@dataclass(frozen=True)
class AcceptOffer:
    application_id: UUID
    partner_id: UUID


@dataclass(frozen=True)
class DeclineOffer:
    """The partner turns the offer down: the application leaves the waitlist."""

    application_id: UUID
    partner_id: UUID
    reason: str


@dataclass(frozen=True)
class OpenCall:
    program: ProgramCode
    title: str
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class CloseCall:
    call_id: UUID


@dataclass(frozen=True)
class CloseDueCalls:
    """Close every call still open whose `closes_at` has passed by `now`, each as an operator's CloseCall would."""

    now: datetime


@dataclass(frozen=True)
class RegisterWebhook:
    """A URL the partner wants its applications' status changes POSTed to."""

    partner_id: UUID
    url: str
    description: str


@dataclass(frozen=True)
class RemoveWebhook:
    partner_id: UUID
    webhook_id: UUID


@dataclass(frozen=True)
class RecordCsp:
    """A CSP the inventory registered (allocation's CspRegistered): a CSP client may be linked to its id."""

    csp_id: UUID
    name: str
    registered_at: datetime
