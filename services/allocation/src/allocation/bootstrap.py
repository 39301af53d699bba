"""Wires allocation: engine, unit of work and bus from the settings; nothing is created at import time."""
from __future__ import annotations

from allocation.adapters.orm import messaging
from allocation.adapters.unit_of_work import AllocationUnitOfWork
from allocation.config import Settings
from allocation.service.handlers import HANDLERS
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings) -> Runtime:
    return build_runtime(settings, messaging, AllocationUnitOfWork, HANDLERS, policy=settings.policy())
