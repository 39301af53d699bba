"""Telemetry's domain errors; entrypoints/api.py maps each to an HTTP status."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID


class TelemetryError(Exception):
    field: str | None = None


class AllocationNotFound(TelemetryError):
    field = "allocation_id"


class BatchTooLarge(TelemetryError):
    field = "body"


class UnsupportedMediaType(TelemetryError):
    field = "content-type"


class ServersOfAnotherCsp(TelemetryError):
    """A batch names servers tracked as another CSP's: a CSP reports only on its own servers."""

    def __init__(self, csp_id: UUID, lines: list[tuple[int, str]]) -> None:
        super().__init__(f"lines naming servers that are not CSP {csp_id}'s: {len(lines)}; the batch was refused "
                         "whole")
        self.csp_id, self.lines = csp_id, lines


class SamplesFromTheFuture(TelemetryError):
    """A batch holds samples dated after the latest instant the clock allows: refused whole, naming each line."""

    def __init__(self, latest: datetime, lines: list[tuple[int, datetime]]) -> None:
        super().__init__(f"lines dated after {latest.isoformat()}, the server's clock and its allowed skew: "
                         f"{len(lines)}; the batch was refused whole")
        self.latest, self.lines = latest, lines


class MalformedBatch(TelemetryError):
    """A body that cannot be read as what it says it is: `field` names the header or the body at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class HostNotMapped(TelemetryError):
    field = "hostname"


class BadRange(TelemetryError):
    """A range of time the API cannot serve; `problems` names the parameter and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))
        self.problems = problems
