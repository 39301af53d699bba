"""Wires evaluation: engine, SQL unit of work and bus from the settings; nothing is created at import time.

The scoring policy is not wired here: every handler reads the version in force from the database. The clock and
the rules of policy changes reach the handlers that name them (`clock`, `change_rules`).
"""
from __future__ import annotations

from evaluation.adapters.metrics import applications_by_status
from evaluation.adapters.orm import messaging
from evaluation.adapters.unit_of_work import SqlEvaluationUnitOfWork
from evaluation.config import Settings
from evaluation.service.handlers import HANDLERS
from servicekit.clock import Clock, utcnow
from servicekit.runtime import Runtime, build_runtime


def bootstrap(settings: Settings, *, clock: Clock = utcnow) -> Runtime[SqlEvaluationUnitOfWork]:
    return build_runtime(settings, messaging, SqlEvaluationUnitOfWork, HANDLERS, clock=clock,
                         change_rules=settings.change_rules(), collectors=[applications_by_status])
