"""The dashboard's worker: consumes every topic into its read model, and reads every dead-letter topic raw into its
list of parked records (entrypoints.dead_letter_reader)."""
from __future__ import annotations

from dashboard.bootstrap import bootstrap
from dashboard.config import Settings
from dashboard.entrypoints.consumer import TRANSLATIONS, together
from dashboard.entrypoints.dead_letter_reader import DeadLetterReader
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    runtime = bootstrap(settings, clock=clock)
    reader = DeadLetterReader(runtime)
    # the events of a poll are kept in one transaction: a page's read model keeps up with the
    # platform's busiest topics (bench: dashboard_lag)
    worker = build_worker(runtime, TRANSLATIONS, jobs=[reader.job()], combine=together)
    worker.health.metrics["dead_letters"] = reader.stats  # on the probe's state and in the heartbeat row
    return worker
