"""Billing's domain metrics, read at scrape time from its own schema (docs/observability.md)."""
from __future__ import annotations

from typing import get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.adapters.orm import document, ledger_line
from billing.domain.ledger import DocumentKind, PayerKind
from billing.domain.model import ProgramCode
from servicekit.metrics import Reading

PROGRAMS: tuple[str, ...] = get_args(ProgramCode)
PAYER_KINDS: tuple[str, ...] = tuple(k.value for k in PayerKind)


async def ledger_and_documents(conn: AsyncConnection) -> list[Reading]:
    """`platform_billing_ledger_krw` by program and payer kind: what the ledger says is owed, net of corrections
    (the government's part included, so the sum per program is the market value); and by kind of document,
    `platform_billing_documents_issued_total` and `platform_billing_documents_krw_total` (numbered documents,
    voided ones included: a number once issued stays counted)."""
    owed = await conn.execute(select(ledger_line.c.program, ledger_line.c.payer_kind,
                                     func.coalesce(func.sum(ledger_line.c.amount_krw), 0))
                              .group_by(ledger_line.c.program, ledger_line.c.payer_kind))
    by_pair = {(str(program), str(kind)): int(total) for program, kind, total in owed}
    issued = await conn.execute(select(document.c.kind, func.count(), func.coalesce(func.sum(document.c.total_krw), 0))
                                .where(document.c.number.is_not(None)).group_by(document.c.kind))
    by_kind = {str(kind): (int(n), int(total)) for kind, n, total in issued}
    readings: list[Reading] = []
    for program in PROGRAMS:
        for payer_kind in PAYER_KINDS:
            readings.append(Reading("billing_ledger_krw", "KRW owed per the ledger, by program and payer kind",
                                    by_pair.get((program, payer_kind), 0),
                                    {"program": program, "payer_kind": payer_kind}))
    for kind in DocumentKind:
        n, total = by_kind.get(kind.value, (0, 0))
        readings += [
            Reading("billing_documents_issued", "Invoices and credit notes issued, by kind", n, {"kind": kind.value},
                    kind="counter"),
            Reading("billing_documents_krw", "KRW billed (invoices) or credited (credit notes) on the documents "
                    "issued", total, {"kind": kind.value}, kind="counter")]
    return readings
