"""Telemetry's worker: consumes allocation's events, relays its outbox."""
from __future__ import annotations

from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker
from telemetry.bootstrap import bootstrap
from telemetry.config import Settings
from telemetry.entrypoints.consumer import TRANSLATIONS


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    return build_worker(bootstrap(settings, clock=clock), TRANSLATIONS)
