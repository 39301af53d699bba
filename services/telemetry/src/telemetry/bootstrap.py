"""Wires telemetry: engine, unit of work, bus and the reclaim ladder's policy; nothing at import time."""
from __future__ import annotations

from servicekit.runtime import Runtime, build_runtime
from telemetry.adapters.orm import messaging
from telemetry.adapters.unit_of_work import TelemetryUnitOfWork
from telemetry.config import Settings
from telemetry.service.handlers import HANDLERS


def bootstrap(settings: Settings) -> Runtime:
    return build_runtime(settings, messaging, TelemetryUnitOfWork, HANDLERS, policy=settings.policy.ladder())
