"""Intake's worker: consumes outcomes, relays its outbox, delivers webhooks, purges expired idempotency keys."""
from __future__ import annotations

from intake.adapters.idempotency import IdempotencyStore, purge_expired_keys
from intake.adapters.orm import idempotency_key
from intake.adapters.webhook_delivery import deliver_webhooks
from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.entrypoints.consumer import TRANSLATIONS
from servicekit.runtime import build_worker
from servicekit.worker import Worker


def create_worker(settings: Settings) -> Worker:
    runtime = bootstrap(settings)
    purge = purge_expired_keys(runtime.engine, IdempotencyStore(idempotency_key, settings.idempotency))
    return build_worker(runtime, TRANSLATIONS, jobs=[purge, deliver_webhooks(runtime.engine, settings.webhooks)])
