"""Billing's worker: consumes applications, scores, allocations and usage, relays its outbox, and runs the
invoicing round on its clock."""
from __future__ import annotations

from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.entrypoints.consumer import TRANSLATIONS
from billing.service.invoicing import invoicing_round
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    runtime = bootstrap(settings, clock=clock)
    invoicing = periodic("invoicing", settings.invoicing.period_s, lambda: invoicing_round(runtime.bus, runtime.clock))
    return build_worker(runtime, TRANSLATIONS, jobs=[invoicing])
