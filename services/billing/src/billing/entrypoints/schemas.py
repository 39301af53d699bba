"""The API's request and response bodies; GPU-hours and shares travel as exact decimal strings, money as integer KRW."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from billing.domain.ledger import Document, DocumentLine, gpu_hours
from servicekit.bounds import EARLIEST_DATE, LATEST_DATE, SingleLine

# A GPU-hour above 10 million KRW is a typo, and the column is a 32-bit integer
MAX_KRW_PER_GPU_HOUR = 10_000_000
GpuModel = Annotated[str, Field(min_length=1, max_length=64), SingleLine]
Csp = Annotated[str, Field(min_length=1, max_length=1000), SingleLine]
BoundedDay = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
HOURS = Decimal("0.000001")
PERCENT = Decimal("0.0001")


def decimal_hours(gpu_minutes: int) -> Decimal:
    exact = gpu_hours(gpu_minutes)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(HOURS)


def decimal_percent(share: Fraction) -> Decimal:
    return (Decimal(share.numerator) * 100 / Decimal(share.denominator)).quantize(PERCENT)


class MarketPriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    krw_per_gpu_hour: int = Field(ge=1, le=MAX_KRW_PER_GPU_HOUR, description="Market price of one GPU-hour.")


class MarketPriceOut(BaseModel):
    csp: str
    gpu_model: str
    effective_from: date
    krw_per_gpu_hour: int
    event_id: UUID = Field(description="The `market price set` event the lines it priced name as their cause.")
    set_at: datetime
    set_by: str


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^https?://[^\s]+$"), SingleLine] = Field(
        description="Where the project's results are published.")
    released_on: BoundedDay


class ReleaseOut(BaseModel):
    application_id: UUID
    url: str
    released_on: date
    event_id: UUID


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paid_on: BoundedDay
    reference: Annotated[str, Field(min_length=1, max_length=200), SingleLine] = Field(
        description="The bank transfer's reference.")


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000), SingleLine]


class DocumentLineOut(BaseModel):
    application_id: UUID
    allocation_id: UUID
    program: str
    csp: str
    gpu_model: str
    gpus: int
    period_start: datetime
    period_end: datetime
    gpu_hours: Decimal = Field(description="Reserved GPU-hours: GPUs x whole minutes of the period / 60.")
    krw_per_gpu_hour: int
    share_pct: Decimal = Field(description="The payer's share of the market value, in percent.")
    amount_krw: int = Field(description="Negative on a credit note.")
    busy_gpu_hours: Decimal | None = Field(description="GPU-hours telemetry measured busy; informational.")

    @classmethod
    def of(cls, line: DocumentLine) -> DocumentLineOut:
        k = line.key
        return cls(application_id=line.application_id, allocation_id=k.allocation_id, program=line.program,
                   csp=k.csp, gpu_model=line.gpu_model, gpus=k.gpus, period_start=k.period_start,
                   period_end=k.period_end, gpu_hours=decimal_hours(line.gpu_minutes),
                   krw_per_gpu_hour=k.krw_per_gpu_hour, share_pct=decimal_percent(k.share),
                   amount_krw=line.amount_krw, busy_gpu_hours=line.busy_gpu_hours)


class DocumentOut(BaseModel):
    id: UUID
    kind: Literal["invoice", "credit_note"]
    number: str | None = Field(description="Given when issued: gapless per kind and year.")
    status: Literal["draft", "issued", "paid", "void"]
    partner_id: UUID
    payer_kind: str
    payer_name: str
    month: date
    total_krw: int = Field(description="Invoice: owed. Credit note: credited back.")
    reason: str | None
    credits: list[str] = Field(description="A credit note: the invoices it credits.")
    drafted_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    payment_reference: str | None
    voided_at: datetime | None
    void_reason: str | None
    lines: list[DocumentLineOut]

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        return cls(id=doc.id, kind=doc.kind.value, number=doc.number, status=doc.status.value,
                   partner_id=doc.partner_id, payer_kind=doc.payer.kind.value, payer_name=doc.payer.name,
                   month=doc.month, total_krw=doc.total_krw, reason=doc.reason, credits=list(doc.credits),
                   drafted_at=doc.drafted_at, issued_at=doc.issued_at, paid_at=doc.paid_at,
                   payment_reference=doc.payment_reference, voided_at=doc.voided_at, void_reason=doc.void_reason,
                   lines=[DocumentLineOut.of(line) for line in doc.lines])


class LedgerLineOut(BaseModel):
    id: int
    allocation_id: UUID
    application_id: UUID
    partner_id: UUID
    program: str
    payer_kind: str
    payer_key: str
    payer_name: str
    csp: str
    gpu_model: str
    period_start: datetime
    period_end: datetime
    gpus: int
    krw_per_gpu_hour: int
    share_pct: Decimal
    gpu_hours: Decimal
    amount_krw: int
    direction: Literal["charge", "reversal"]
    cause_event_id: UUID
    cause_type: str
    cause_at: datetime
    posted_at: datetime


class LedgerPage(BaseModel):
    items: list[LedgerLineOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last.")


class SettlementRow(BaseModel):
    csp: str
    gpu_model: str
    gpu_hours: Decimal = Field(description="GPU-hours delivered (reserved) in the month.")
    market_value_krw: int
    applicants_krw: int = Field(description="What applicants and participants pay.")
    government_krw: int = Field(description="What the government pays.")


class SettlementOut(BaseModel):
    month: date
    rows: list[SettlementRow]
    total_market_value_krw: int
    total_applicants_krw: int
    total_government_krw: int
