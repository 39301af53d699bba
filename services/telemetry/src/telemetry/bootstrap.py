"""Wires telemetry: engine, unit of work and bus from the settings; nothing is created at import time."""
from __future__ import annotations

import functools
import inspect

from servicekit.bus import Handler
from servicekit.runtime import Runtime, build_runtime
from telemetry.adapters.orm import messaging
from telemetry.adapters.unit_of_work import TelemetryUnitOfWork
from telemetry.config import Settings
from telemetry.domain.model import Policy
from telemetry.service.handlers import HANDLERS


def bootstrap(settings: Settings) -> Runtime:
    policy = settings.policy.ladder()
    handlers = {command: _inject(handler, policy) for command, handler in HANDLERS.items()}
    return build_runtime(settings, messaging, TelemetryUnitOfWork, handlers)


def _inject(handler: Handler, policy: Policy) -> Handler:
    """Hand the policy to the handlers that ask for it by name, so that none reads the settings itself."""
    if "policy" in inspect.signature(handler).parameters:
        return functools.partial(handler, policy=policy)
    return handler
