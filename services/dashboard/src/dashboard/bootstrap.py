"""Wires the dashboard: engine, unit of work, bus and clock from the settings; nothing at import time."""
from __future__ import annotations

from dashboard.adapters.orm import messaging
from dashboard.adapters.unit_of_work import SqlDashboardUnitOfWork
from dashboard.config import Settings
from dashboard.service.handlers import HANDLERS
from dashboard.service.unit_of_work import DashboardUnitOfWork
from servicekit.clock import Clock, utcnow
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings, *, clock: Clock = utcnow) -> Runtime[SqlDashboardUnitOfWork]:
    return build_runtime(settings, messaging, SqlDashboardUnitOfWork, HANDLERS, clock=clock)


def _sql_meets_the_port(uow: SqlDashboardUnitOfWork) -> DashboardUnitOfWork:
    return uow  # never called: mypy proves here that the unit of work wired is the one the handlers rely on
