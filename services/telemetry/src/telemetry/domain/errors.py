"""Telemetry's domain errors; entrypoints/api.py maps each to an HTTP status."""


class TelemetryError(Exception):
    field: str | None = None


class AllocationNotFound(TelemetryError):
    field = "allocation_id"


class BatchTooLarge(TelemetryError):
    field = "body"


class UnsupportedMediaType(TelemetryError):
    field = "content-type"
