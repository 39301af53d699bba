"""Wires telemetry: engine, unit of work, bus, the reclaim ladder's policy and the clock; nothing at import time."""
from __future__ import annotations

from servicekit.clock import Clock, utcnow
from servicekit.runtime import Runtime, build_runtime
from telemetry.adapters.orm import messaging
from telemetry.adapters.unit_of_work import SqlTelemetryUnitOfWork
from telemetry.config import Settings
from telemetry.service.handlers import HANDLERS
from telemetry.service.unit_of_work import TelemetryUnitOfWork


def bootstrap(settings: Settings, *, clock: Clock = utcnow) -> Runtime[SqlTelemetryUnitOfWork]:
    return build_runtime(settings, messaging, SqlTelemetryUnitOfWork, HANDLERS, clock=clock,
                         policy=settings.policy.ladder())


def _sql_meets_the_port(uow: SqlTelemetryUnitOfWork) -> TelemetryUnitOfWork:
    return uow  # never called: mypy proves here that the unit of work wired is the one the handlers rely on
