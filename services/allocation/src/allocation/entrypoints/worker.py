"""Allocation's worker: consumes scores, utilization drops and withdrawals; relays its outbox."""
from __future__ import annotations

from allocation.bootstrap import bootstrap
from allocation.config import Settings
from allocation.entrypoints.consumer import TRANSLATIONS
from servicekit.runtime import build_worker
from servicekit.worker import Worker


def create_worker(settings: Settings) -> Worker:
    return build_worker(bootstrap(settings), TRANSLATIONS)
