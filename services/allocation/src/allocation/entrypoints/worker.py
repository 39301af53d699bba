"""Allocation's worker: consumes scores, rounds, rejections, offer answers, utilization drops and withdrawals;
relays its outbox; expires unanswered offers."""
from __future__ import annotations

from allocation.bootstrap import bootstrap
from allocation.config import Settings
from allocation.domain.commands import ExpireOffers
from allocation.entrypoints.consumer import TRANSLATIONS
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    runtime = bootstrap(settings, clock=clock)

    async def expire_offers() -> int:
        expired: int = await runtime.bus.handle(ExpireOffers(now=runtime.clock()))
        return expired

    expiring = periodic("expired offers", settings.offers.check_interval_s, expire_offers)
    return build_worker(runtime, TRANSLATIONS, jobs=[expiring])
