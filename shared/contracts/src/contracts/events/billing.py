"""Events published by billing: the operators' facts it records (market prices, open-source releases) and the
documents it issues (invoices, credit notes), amounts in integer KRW."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from contracts import topics
from contracts.base import Event
from contracts.bounds import Day, Instant, Line, NonNegativeInt64, PositiveInt32
from contracts.events.common import GpuModel

PayerKind = Literal["applicant", "participant"]


class MarketPriceSet(Event):
    """A CSP's market price of one GPU-hour of a model, from a day on (Korea's calendar): what lines are priced at."""

    type: Literal["billing.market_price_set.v1"] = "billing.market_price_set.v1"
    topic: ClassVar[str] = topics.INVOICES
    subject_field: ClassVar[str] = "gpu_model"
    csp: Line = Field(min_length=1, max_length=1000)
    gpu_model: GpuModel
    effective_from: Day
    krw_per_gpu_hour: PositiveInt32


class OpenSourceReleaseRecorded(Event):
    """An operator recorded a P2 project's results released as open source: its corporate participants owe nothing,
    and what they were invoiced is credited back."""

    type: Literal["billing.open_source_release_recorded.v1"] = "billing.open_source_release_recorded.v1"
    topic: ClassVar[str] = topics.INVOICES
    application_id: UUID
    url: Line = Field(min_length=1, max_length=2000, pattern=r"^https?://")
    released_on: Day


class _Document(Event):
    subject_field: ClassVar[str] = "document_id"
    document_id: UUID
    number: Line = Field(min_length=1, max_length=32, description="Gapless per kind and year: INV-2026-000042.")
    partner_id: UUID = Field(description="The partner whose applications the document bills.")
    payer_kind: PayerKind
    payer_name: Line = Field(min_length=1, max_length=1000)
    month: Day = Field(description="The month billed (its first day, Korea's calendar).")
    total_krw: NonNegativeInt64 = Field(description="Invoice: owed. Credit note: credited back.")
    application_ids: list[UUID] = Field(min_length=1, max_length=10_000)
    issued_at: Instant


class InvoiceIssued(_Document):
    """A payer's monthly invoice was issued: what it owes for its allocations' reserved GPU-time."""

    type: Literal["billing.invoice_issued.v2"] = "billing.invoice_issued.v2"
    topic: ClassVar[str] = topics.INVOICES


class CreditNoteIssued(_Document):
    """Amounts already invoiced were credited back (an open-source release, or a correction such as a late reclaim)."""

    type: Literal["billing.credit_note_issued.v1"] = "billing.credit_note_issued.v1"
    topic: ClassVar[str] = topics.INVOICES
    credits: list[Line] = Field(max_length=10_000, description="The numbers of the invoices whose lines it credits.")
    reason: Literal["open_source_release", "correction"]
