"""Wires allocation: engine, unit of work and bus from the settings; nothing is created at import time."""
from __future__ import annotations

from allocation.adapters.metrics import gpus_and_reclaims
from allocation.adapters.orm import messaging
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.config import Settings
from allocation.service.handlers import HANDLERS
from servicekit.clock import Clock, utcnow
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings, *, clock: Clock = utcnow) -> Runtime[SqlAllocationUnitOfWork]:
    return build_runtime(settings, messaging, SqlAllocationUnitOfWork, HANDLERS, clock=clock,
                         policy=settings.policy(), collectors=[gpus_and_reclaims])
