"""Billing's domain metrics, read at scrape time from its own schema (docs/observability.md)."""
from __future__ import annotations

from typing import get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.adapters.orm import account, invoice
from billing.domain.model import AccountStatus, ProgramCode
from servicekit.metrics import Reading

PROGRAMS: tuple[str, ...] = get_args(ProgramCode)


async def invoices_and_accounts(conn: AsyncConnection) -> list[Reading]:
    """By program: `platform_billing_invoices_issued_total`, the invoices issued, ever, and the KRW they bill,
    `platform_billing_payable_krw_total` (the applicants' share) and `platform_billing_market_value_krw_total`;
    and `platform_billing_accounts_open`: usage accounts open (GPUs allocated, not invoiced yet)."""
    issued = await conn.execute(select(invoice.c.program, func.count(),
                                       func.coalesce(func.sum(invoice.c.payable_krw), 0),
                                       func.coalesce(func.sum(invoice.c.market_value_krw), 0))
                                .group_by(invoice.c.program))
    invoiced = {str(program): (int(n), int(payable), int(market)) for program, n, payable, market in issued}
    open_rows = await conn.execute(select(account.c.program, func.count())
                                   .where(account.c.status == AccountStatus.OPEN.value).group_by(account.c.program))
    open_accounts = {str(program): int(n) for program, n in open_rows}
    readings: list[Reading] = []
    for program in sorted({*PROGRAMS, *invoiced, *open_accounts}):
        n, payable, market = invoiced.get(program, (0, 0, 0))
        labels = {"program": program}
        readings += [
            Reading("billing_invoices_issued", "Invoices issued, by program", n, labels, kind="counter"),
            Reading("billing_payable_krw", "KRW the applicants pay on the invoices issued, by program", payable,
                    labels, kind="counter"),
            Reading("billing_market_value_krw", "Market value in KRW of the invoices issued, by program", market,
                    labels, kind="counter"),
            Reading("billing_accounts_open", "Usage accounts open (GPUs allocated, not yet invoiced), by program",
                    open_accounts.get(program, 0), labels)]
    return readings
