"""Wires billing: engine, unit of work, bus and the payer policy from the settings; nothing at import time."""
from __future__ import annotations

from billing.adapters.orm import messaging
from billing.adapters.unit_of_work import BillingUnitOfWork
from billing.config import Settings
from billing.service.handlers import HANDLERS
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings) -> Runtime:
    return build_runtime(settings, messaging, BillingUnitOfWork, HANDLERS, policy=settings.policy())
