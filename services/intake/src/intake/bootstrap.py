"""Wires intake: engine, unit of work, bus, the form limits and the webhook cap from the settings; nothing at import
time."""
from __future__ import annotations

from intake.adapters.orm import messaging
from intake.adapters.unit_of_work import IntakeUnitOfWork
from intake.config import Settings
from intake.service.handlers import HANDLERS
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings) -> Runtime:
    return build_runtime(settings, messaging, IntakeUnitOfWork, HANDLERS, limits=settings.forms.limits(),
                         max_webhooks=settings.webhooks.max_per_partner)
