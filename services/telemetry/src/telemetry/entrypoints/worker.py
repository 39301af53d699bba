"""Telemetry's worker: consumes allocation's events, relays its outbox."""
from __future__ import annotations

from servicekit.runtime import build_worker
from servicekit.worker import Worker
from telemetry.bootstrap import bootstrap
from telemetry.config import Settings
from telemetry.entrypoints.consumer import TRANSLATIONS


def create_worker(settings: Settings) -> Worker:
    return build_worker(bootstrap(settings), TRANSLATIONS)
