"""Intake's worker: consumes outcomes, relays its outbox."""
from __future__ import annotations

from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.entrypoints.consumer import TRANSLATIONS
from servicekit.runtime import build_worker
from servicekit.worker import Worker


def create_worker(settings: Settings) -> Worker:
    return build_worker(bootstrap(settings), TRANSLATIONS)
