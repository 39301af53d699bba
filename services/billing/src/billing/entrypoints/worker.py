"""Billing's worker: consumes allocations and usage, relays its outbox, and invoices accounts whose period ended."""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from billing.adapters.unit_of_work import BillingUnitOfWork
from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.domain.commands import InvoiceEndedAccount
from billing.entrypoints.consumer import TRANSLATIONS
from servicekit.retry import is_transient, sleep_or_stop
from servicekit.runtime import Runtime, build_worker
from servicekit.worker import Job, Worker

log = logging.getLogger(__name__)


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


def invoicing_job(runtime: Runtime, settings: Settings) -> Job:
    """The clock: every `invoicing.period_s`; an outage is waited out, anything else stops the worker."""

    async def job(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                count = await invoice_ended_accounts(runtime, batch_size=settings.invoicing.batch_size)
                if count:
                    log.info("invoiced %d accounts whose period ended", count)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("invoicing job: %s; retrying in %ss", exc, settings.invoicing.period_s)
            await sleep_or_stop(stop, settings.invoicing.period_s)

    return job


def create_worker(settings: Settings) -> Worker:
    runtime = bootstrap(settings)
    return build_worker(runtime, TRANSLATIONS, jobs=[invoicing_job(runtime, settings)])
