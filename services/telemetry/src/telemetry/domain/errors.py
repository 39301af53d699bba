"""Telemetry's domain errors; entrypoints/api.py maps each to an HTTP status."""


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

    def __init__(self, csp: str, lines: list[tuple[int, str]]) -> None:
        super().__init__(f"lines naming servers that are not {csp}'s: {len(lines)}; the batch was refused whole")
        self.csp, self.lines = csp, lines
