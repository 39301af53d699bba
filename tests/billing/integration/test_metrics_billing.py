"""Billing's domain metrics on the real database: what the ledger says is owed by program and payer kind, and the
documents issued with their KRW, as a scrape of /metrics reads them after real events (docs/observability.md)."""
from __future__ import annotations

from datetime import timedelta

from billing.entrypoints.consumer import TRANSLATIONS
from support.auth import OPERATOR
from support.billing import DEC_1, JAN_1, allocated, submitted
from support.clock import ManualClock
from support.metrics import scrape, value
from support.stack import Stack


async def test_the_ledger_and_the_documents_issued_count_under_their_labels(stack: Stack) -> None:
    p1, p3 = submitted("P1"), submitted("P3")
    # P1: 2 GPUs x 31 days x 24 h x 4,000 KRW = 5,952,000 KRW; the applicant 30% (1,785,600), the government the rest
    # P3: 1 GPU x 10 days x 24 h x 4,000 KRW = 960,000 KRW, all the government's
    events = [p1, allocated(p1, gpus=2, start=DEC_1, end=JAN_1), p3,
              allocated(p3, gpus=1, start=DEC_1, end=DEC_1 + timedelta(days=10))]
    clock = ManualClock(JAN_1 + timedelta(hours=1))
    async with stack.api("billing", clock=clock) as api:
        before = await scrape(api)
        await stack.handle("billing", *[TRANSLATIONS[type(e)](e) for e in events], clock=clock)
        posted = await scrape(api)
        await api.post("/invoices/rounds", headers=OPERATOR)
        issued = await scrape(api)
    assert value(before, "platform_billing_ledger_krw", program="P1", payer_kind="applicant") == 0
    assert value(posted, "platform_billing_ledger_krw", program="P1", payer_kind="applicant") == 1_785_600
    assert value(posted, "platform_billing_ledger_krw", program="P1", payer_kind="government") == 4_166_400
    assert value(posted, "platform_billing_ledger_krw", program="P3", payer_kind="government") == 960_000
    assert value(posted, "platform_billing_documents_issued_total", kind="invoice") == 0
    assert value(issued, "platform_billing_documents_issued_total", kind="invoice") == 1
    assert value(issued, "platform_billing_documents_krw_total", kind="invoice") == 1_785_600
    assert value(issued, "platform_billing_documents_issued_total", kind="credit_note") == 0
