"""The dashboard's worker: consumes every topic into its read model."""
from __future__ import annotations

from dashboard.bootstrap import bootstrap
from dashboard.config import Settings
from dashboard.entrypoints.consumer import TRANSLATIONS
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    return build_worker(bootstrap(settings, clock=clock), TRANSLATIONS)
