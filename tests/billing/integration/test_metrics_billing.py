"""Billing's domain metrics on the real database: invoices issued and the KRW they bill, and the accounts open, by
program, as a scrape of /metrics reads them after real commands (docs/observability.md)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from billing.domain.commands import CloseAccount, OpenAccount
from billing.domain.model import ProgramCode
from support.auth import OPERATOR
from support.metrics import scrape, series, value
from support.stack import Stack, ok

METRICS = ("platform_billing_invoices_issued_total", "platform_billing_payable_krw_total",
           "platform_billing_market_value_krw_total", "platform_billing_accounts_open")


def opened(program: ProgramCode, starts_at: datetime, gpus: int) -> OpenAccount:
    return OpenAccount(allocation_id=uuid.uuid4(), application_id=uuid.uuid4(), program=program,
                       gpu_model="H100", gpus=gpus, starts_at=starts_at, ends_at=starts_at + timedelta(days=30))


async def test_an_invoice_issued_counts_with_its_amounts_under_its_program_and_its_account_is_no_longer_open(
        stack: Stack) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    invoiced, still_open, other = opened("P1", start, 4), opened("P1", start, 2), opened("P2", start, 8)
    async with stack.api("billing") as api:
        before = await scrape(api)
        await stack.handle("billing", invoiced, still_open, other)
        opening = await scrape(api)
        await stack.handle("billing", CloseAccount(invoiced.allocation_id, start + timedelta(hours=10, minutes=30)))
        after = await scrape(api)
        [invoice] = await ok(api.get("/invoices", params={"application_id": str(invoiced.application_id)},
                                     headers=OPERATOR))

    for name in METRICS:  # every program named from the start, at 0
        assert series(before, name) == {frozenset({("program", p)}): 0 for p in ("P1", "P2", "P3")}, name
    assert [value(opening, "platform_billing_accounts_open", program=p) for p in ("P1", "P2", "P3")] == [2, 1, 0]
    assert value(opening, "platform_billing_invoices_issued_total", program="P1") == 0

    assert [value(after, "platform_billing_accounts_open", program=p) for p in ("P1", "P2", "P3")] == [1, 1, 0]
    assert [value(after, "platform_billing_invoices_issued_total", program=p) for p in ("P1", "P2", "P3")] \
        == [1, 0, 0]
    # the amounts the invoice itself bills, as the API shows it: P1's applicant pays a share of the market value
    assert 0 < invoice["payable_krw"] < invoice["market_value_krw"]
    assert value(after, "platform_billing_payable_krw_total", program="P1") == invoice["payable_krw"]
    assert value(after, "platform_billing_market_value_krw_total", program="P1") == invoice["market_value_krw"]
    assert value(after, "platform_billing_payable_krw_total", program="P2") == 0
    rows = await stack.fetch("SELECT program, count(*) AS n, sum(payable_krw) AS payable FROM billing.invoice "
                             "GROUP BY program")
    assert {r["program"]: (r["n"], r["payable"]) for r in rows} == {"P1": (1, invoice["payable_krw"])}
