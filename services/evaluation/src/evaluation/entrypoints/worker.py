"""Evaluation's worker: consumes submitted applications, closed calls and allocation's re-check requests, relays
its outbox."""
from __future__ import annotations

from evaluation.bootstrap import bootstrap
from evaluation.config import Settings
from evaluation.entrypoints.consumer import TRANSLATIONS
from servicekit.clock import Clock, utcnow
from servicekit.runtime import build_worker
from servicekit.worker import Worker


def create_worker(settings: Settings, *, clock: Clock = utcnow) -> Worker:
    """`clock` is the handlers' "now" (a decision's time): tests move it."""
    return build_worker(bootstrap(settings, clock=clock), TRANSLATIONS)
