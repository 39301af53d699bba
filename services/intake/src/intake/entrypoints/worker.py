"""Intake's worker: consumes outcomes, relays its outbox, delivers webhooks, purges expired idempotency keys and old
webhook deliveries."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.adapters.idempotency import IdempotencyStore, purge_expired_keys
from intake.adapters.orm import idempotency_key
from intake.adapters.webhook_delivery import deliver_webhooks
from intake.adapters.webhooks import purge_delivery_log
from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.entrypoints.consumer import TRANSLATIONS
from servicekit.runtime import build_worker
from servicekit.worker import Worker, periodic


def create_worker(settings: Settings) -> Worker:
    runtime = bootstrap(settings)
    purge = purge_expired_keys(runtime.engine, IdempotencyStore(idempotency_key, settings.idempotency))
    hooks = settings.webhooks
    purge_log = periodic("purging the webhook delivery log", hooks.purge_interval_s, purge_delivery_log(
        runtime.engine, timedelta(days=hooks.retention_days), lambda: datetime.now(UTC)))
    return build_worker(runtime, TRANSLATIONS, jobs=[purge, deliver_webhooks(runtime.engine, hooks), purge_log])
