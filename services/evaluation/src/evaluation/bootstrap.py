"""Wires evaluation: engine, unit of work, bus and the scoring policy from the settings; nothing at import time."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

from evaluation.adapters.orm import messaging
from evaluation.adapters.unit_of_work import EvaluationUnitOfWork
from evaluation.config import Settings
from evaluation.service.handlers import HANDLERS
from servicekit.bus import Handler
from servicekit.runtime import Runtime, build_runtime


def inject(handler: Handler, dependencies: Mapping[str, Any]) -> Handler:
    """Bind the dependencies a handler names among its parameters; the bus passes only (command, uow)."""
    wanted = inspect.signature(handler).parameters
    return functools.partial(handler, **{k: v for k, v in dependencies.items() if k in wanted})


def bootstrap(settings: Settings) -> Runtime:
    dependencies = {"policy": settings.policy()}
    handlers = {command: inject(handler, dependencies) for command, handler in HANDLERS.items()}
    return build_runtime(settings, messaging, EvaluationUnitOfWork, handlers)
