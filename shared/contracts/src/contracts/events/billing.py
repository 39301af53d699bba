"""Events published by billing."""
from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from contracts import topics
from contracts.base import Event
from contracts.bounds import NonNegativeFiniteFloat, NonNegativeInt64
from contracts.events.common import Program


class InvoiceIssued(Event):
    """An allocation's usage was charged: its market value and the applicant's share, in integer KRW."""

    type: Literal["billing.invoice_issued.v1"] = "billing.invoice_issued.v1"
    topic: ClassVar[str] = topics.INVOICES
    application_id: UUID
    invoice_id: UUID
    allocation_id: UUID
    program: Program
    gpu_hours: NonNegativeFiniteFloat
    market_value_krw: NonNegativeInt64
    payable_krw: NonNegativeInt64
