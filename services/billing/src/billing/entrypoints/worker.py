"""Billing's worker: consumes allocations and usage, relays its outbox, and invoices accounts whose period ended."""
from __future__ import annotations

from datetime import UTC, datetime

from billing.adapters.unit_of_work import BillingUnitOfWork
from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.domain.commands import InvoiceEndedAccount
from billing.entrypoints.consumer import TRANSLATIONS
from servicekit.runtime import Runtime, build_worker
from servicekit.worker import Worker, periodic


async def invoice_ended_accounts(runtime: Runtime, *, batch_size: int) -> int:
    """Invoice every open account whose period has ended, each in its own transaction; returns how many."""
    now = datetime.now(UTC)
    invoiced = 0
    while True:
        uow: BillingUnitOfWork
        async with runtime.uow_factory() as uow:  # type: ignore[assignment]
            due = await uow.accounts.ended(now, limit=batch_size)
        for allocation_id in due:
            if await runtime.bus.handle(InvoiceEndedAccount(allocation_id=allocation_id, at=now)) is not None:
                invoiced += 1
        if len(due) < batch_size:
            return invoiced


def create_worker(settings: Settings) -> Worker:
    runtime = bootstrap(settings)
    invoicing = periodic("invoicing", settings.invoicing.period_s,
                         lambda: invoice_ended_accounts(runtime, batch_size=settings.invoicing.batch_size))
    return build_worker(runtime, TRANSLATIONS, jobs=[invoicing])
