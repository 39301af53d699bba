"""Wires evaluation: engine, unit of work, bus and the scoring policy from the settings; nothing at import time."""
from __future__ import annotations

from evaluation.adapters.orm import messaging
from evaluation.adapters.unit_of_work import EvaluationUnitOfWork
from evaluation.config import Settings
from evaluation.service.handlers import HANDLERS
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings) -> Runtime:
    return build_runtime(settings, messaging, EvaluationUnitOfWork, HANDLERS, policy=settings.policy())
