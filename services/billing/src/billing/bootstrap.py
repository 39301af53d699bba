"""Wires billing: engine, unit of work and bus from the settings; nothing is created at import time."""
from __future__ import annotations

import functools
import inspect
from typing import Any

from billing.adapters.orm import messaging
from billing.adapters.unit_of_work import BillingUnitOfWork
from billing.config import Settings
from billing.service.handlers import HANDLERS
from servicekit.bus import Handler
from servicekit.runtime import Runtime, build_runtime


def inject(handler: Handler, **dependencies: Any) -> Handler:
    """Bind the dependencies a handler names in its signature, so the bus can call it as handler(cmd, uow)."""
    wanted = {name: dep for name, dep in dependencies.items() if name in inspect.signature(handler).parameters}
    return functools.partial(handler, **wanted) if wanted else handler


def bootstrap(settings: Settings) -> Runtime:
    policy = settings.policy()
    handlers = {command: inject(handler, policy=policy) for command, handler in HANDLERS.items()}
    return build_runtime(settings, messaging, BillingUnitOfWork, handlers)
