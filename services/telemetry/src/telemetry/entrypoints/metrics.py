"""Telemetry's domain metrics, counted where the samples come in (docs/observability.md)."""
from __future__ import annotations

from typing import Any, Literal

from servicekit.metrics import metrics_of

Via = Literal["ndjson", "remote_write"]
VIA: tuple[Via, ...] = ("ndjson", "remote_write")


def count_accepted(app: Any, via: Via, samples: int) -> None:
    """`platform_telemetry_samples_accepted_total{via}`: samples stored, by the door they came in."""
    metrics_of(app).counter("telemetry_samples_accepted", "GPU samples accepted and stored, by format",
                            ["via"]).labels(via).inc(samples)


def register(app: Any) -> None:
    """Every series from the start, at 0."""
    for via in VIA:
        count_accepted(app, via, 0)
