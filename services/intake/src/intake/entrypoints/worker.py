"""Intake's worker: consumes outcomes, relays its outbox, delivers webhooks, closes the calls whose window has ended,
purges expired idempotency keys and old webhook deliveries."""
from __future__ import annotations

from datetime import timedelta

from intake.adapters.idempotency import IdempotencyStore
from intake.adapters.orm import idempotency_key
from intake.adapters.repository_webhooks import purge_delivery_log
from intake.adapters.webhook_delivery import deliver_webhooks
from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.domain.commands import CloseDueCalls
from intake.entrypoints.consumer import TRANSLATIONS
from intake.service.handlers import lock_applications
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    runtime = bootstrap(settings, clock=clock)
    keys, hooks = IdempotencyStore(idempotency_key, settings.idempotency), settings.webhooks
    retention = timedelta(days=hooks.retention_days)

    async def purge_keys() -> int:  # so the table holds about a day of requests
        return await keys.purge(runtime.engine, runtime.clock())

    async def purge_log() -> int:
        return await purge_delivery_log(runtime.engine, runtime.clock() - retention)

    async def close_due_calls() -> int:  # as an operator's close: the same handler, the same CallClosed
        closed: int = await runtime.bus.handle(CloseDueCalls(now=runtime.clock()))
        return closed

    return build_worker(runtime, TRANSLATIONS, prepare=lock_applications, jobs=[
        periodic("closing calls past closes_at", settings.calls.close_interval_s, close_due_calls),
        periodic("purging idempotency keys", settings.idempotency.purge_interval_s, purge_keys),
        deliver_webhooks(runtime.engine, hooks, runtime.clock),
        periodic("purging the webhook delivery log", hooks.purge_interval_s, purge_log),
    ])
