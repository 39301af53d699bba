"""Allocation's worker: consumes scores, rounds, rejections, offer answers, utilization drops and withdrawals;
relays its outbox; expires unanswered offers."""
from __future__ import annotations

from datetime import UTC, datetime

from allocation.bootstrap import bootstrap
from allocation.config import Settings
from allocation.domain.commands import ExpireOffers
from allocation.entrypoints.consumer import TRANSLATIONS
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic


def create_worker(settings: Settings) -> Worker:
    runtime = bootstrap(settings)
    expiring = periodic("expired offers", settings.offers.check_interval_s,
                        lambda: runtime.bus.handle(ExpireOffers(now=datetime.now(UTC))))
    return build_worker(runtime, TRANSLATIONS, jobs=[expiring])
