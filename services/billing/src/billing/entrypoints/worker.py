"""Billing's worker: consumes allocations and usage, relays its outbox, and invoices accounts whose period ended."""
from __future__ import annotations

from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.entrypoints.consumer import TRANSLATIONS
from billing.service.invoicing import invoice_ended_accounts
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    runtime = bootstrap(settings, clock=clock)
    invoicing = periodic("invoicing", settings.invoicing.period_s,
                         lambda: invoice_ended_accounts(runtime.bus, runtime.uow_factory, runtime.clock,
                                                        batch_size=settings.invoicing.batch_size))
    return build_worker(runtime, TRANSLATIONS, jobs=[invoicing])
