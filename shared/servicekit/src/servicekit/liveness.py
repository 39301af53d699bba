"""A worker's own health: each part's loop reports that it turned, and whether its last round worked.

The worker is alive while every part runs and turns; working while, besides, no part has been failing for longer than
`stale_after_s`; ready while working and its consumer is in its group. The state is served on the worker's probe port
and written to the service's `worker_heartbeat` table, whose `ready` column (working, there) the API's readiness
reads.
"""
from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any

from servicekit.settings import WorkerSettings


@dataclass
class PartStatus:
    """One part of a worker (the consumer, the relay, a periodic job)."""

    name: str
    started: float = field(default_factory=time.monotonic)
    last_turn: float = field(default_factory=time.monotonic)
    next_within_s: float = 0.0
    failing_since: float | None = None
    last_error: str = ""
    running: bool = True
    ready: bool = True  # a part that must first join something (the consumer, its group) says so itself

    def turned(self, *, next_within_s: float = 0.0) -> None:
        self.last_turn = time.monotonic()
        self.next_within_s = next_within_s
        self.failing_since = None

    def failed(self, error: BaseException) -> None:
        self.last_turn = time.monotonic()
        if self.failing_since is None:
            self.failing_since = self.last_turn
        self.last_error = f"{type(error).__name__}: {error}"[:500]


_current: contextvars.ContextVar[PartStatus | None] = contextvars.ContextVar("worker_part", default=None)


def current_part() -> PartStatus:
    """The status of the part running in this task; a throwaway one outside a worker (tests drive parts alone)."""
    part = _current.get()
    if part is None:
        part = PartStatus("unsupervised")
        _current.set(part)
    return part


@dataclass
class WorkerHealth:
    settings: WorkerSettings
    parts: dict[str, PartStatus] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def enter(self, name: str) -> PartStatus:
        """Register a part (under a name of its own) and make it the current one of the calling task."""
        base, number = name, 1
        while name in self.parts:
            number += 1
            name = f"{base} #{number}"
        part = self.parts[name] = PartStatus(name)
        _current.set(part)
        return part

    def problems(self, level: str = "ready") -> list[str]:
        """What stands between the worker and `level`: "alive" (every part runs and turns), "working" (and none
        has been failing for long) or "ready" (and the consumer is in its group)."""
        now = time.monotonic()
        found = []
        for part in self.parts.values():
            if not part.running:
                found.append(f"{part.name} stopped")
            elif now - part.last_turn > part.next_within_s + self.settings.stall_after_s:
                found.append(f"{part.name} stalled for {now - part.last_turn:.0f}s")
            elif (level != "alive" and part.failing_since is not None
                  and now - part.failing_since > self.settings.stale_after_s):
                found.append(f"{part.name} failing for {now - part.failing_since:.0f}s: {part.last_error}")
            elif level == "ready" and not part.ready:
                found.append(f"{part.name} not ready")
        return found

    def alive(self) -> bool:
        return bool(self.parts) and not self.problems("alive")

    def working(self) -> bool:
        """Alive and nothing failing: what the API's readiness counts. A consumer between two rebalances is still
        working (every replica's joining would otherwise take the APIs out of service)."""
        return bool(self.parts) and not self.problems("working")

    def ready(self) -> bool:
        return bool(self.parts) and not self.problems("ready")

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "alive": self.alive(), "working": self.working(), "ready": self.ready(), "problems": self.problems(),
            "parts": {p.name: {"running": p.running, "ready": p.ready, "idle_s": round(now - p.last_turn, 1),
                               "failing_s": None if p.failing_since is None else round(now - p.failing_since, 1),
                               "last_error": p.last_error} for p in self.parts.values()},
            **self.metrics,
        }
