"""Wires intake: engine, unit of work and bus from the settings; nothing is created at import time."""
from __future__ import annotations

from intake.adapters.orm import messaging
from intake.adapters.unit_of_work import IntakeUnitOfWork
from intake.config import Settings
from intake.service.handlers import HANDLERS
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings) -> Runtime:
    return build_runtime(settings, messaging, IntakeUnitOfWork, HANDLERS)
