"""Wires intake: engine, unit of work, bus, clock, the form limits and the webhook cap from the settings; nothing at
import time."""
from __future__ import annotations

from intake.adapters.metrics import applications_by_status
from intake.adapters.orm import messaging
from intake.adapters.unit_of_work import SqlIntakeUnitOfWork
from intake.config import Settings
from intake.service.handlers import HANDLERS
from intake.service.unit_of_work import IntakeUnitOfWork
from servicekit.clock import Clock, utcnow
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings, *, clock: Clock = utcnow) -> Runtime[SqlIntakeUnitOfWork]:
    return build_runtime(settings, messaging, SqlIntakeUnitOfWork, HANDLERS, clock=clock,
                         limits=settings.forms.limits(), max_webhooks=settings.webhooks.max_per_partner,
                         collectors=[applications_by_status])


def _meets_the_port(uow: SqlIntakeUnitOfWork) -> IntakeUnitOfWork:
    """Never called: mypy checks here that the SQL unit of work is what the handlers take."""
    return uow
