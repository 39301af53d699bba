"""A clock that tests move by hand: the service layers take "now" from it (servicekit.clock)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move time forward (`advance(days=7)`) and return the new now."""
        self.now += timedelta(**delta)
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now
