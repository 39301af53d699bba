"""Wires billing: engine, unit of work, bus, payer policy and clock from the settings; nothing at import time."""
from __future__ import annotations

from billing.adapters.metrics import ledger_and_documents
from billing.adapters.orm import messaging
from billing.adapters.unit_of_work import SqlBillingUnitOfWork
from billing.config import Settings
from billing.service.handlers import HANDLERS
from billing.service.unit_of_work import BillingUnitOfWork
from servicekit.clock import Clock, utcnow
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings, *, clock: Clock = utcnow) -> Runtime[SqlBillingUnitOfWork]:
    return build_runtime(settings, messaging, SqlBillingUnitOfWork, HANDLERS, clock=clock, policy=settings.policy(),
                         collectors=[ledger_and_documents])


def _sql_meets_the_port(uow: SqlBillingUnitOfWork) -> BillingUnitOfWork:
    return uow  # never called: mypy proves here that the unit of work wired is the one the handlers rely on
