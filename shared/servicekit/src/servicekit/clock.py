"""The service layer's "now": one callable, injected by bootstrap, so that tests move time instead of sleeping or
writing samples dated in the past. Nothing in a service layer reads the wall clock itself."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
