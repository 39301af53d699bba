"""Telemetry's domain metrics: samples counted where they come in, the admission gate's refusals read from it at
scrape time (docs/observability.md)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from servicekit.metrics import PREFIX, metrics_of
from telemetry.domain.model import BatchReceipt
from telemetry.entrypoints.admission import AdmissionGate, gate_of

Via = Literal["ndjson", "remote_write"]
VIA: tuple[Via, ...] = ("ndjson", "remote_write")
# Why a sample was not stored, named as the doors' answers count them; each door has the reasons it can give: an
# NDJSON batch is refused whole (422, 403) for samples from the future or on another CSP's servers, and only
# remote-write reads series, so only it ignores or cannot place one
Refused = Literal["duplicates", "ignored", "unmapped", "refused_future", "refused_other_csp", "refused_late"]
REFUSED: Mapping[Via, tuple[Refused, ...]] = {
    "ndjson": ("duplicates", "refused_future", "refused_other_csp", "refused_late"),
    "remote_write": ("duplicates", "ignored", "unmapped", "refused_future", "refused_other_csp", "refused_late"),
}


def count_accepted(app: Any, via: Via, samples: int) -> None:
    """`platform_telemetry_samples_accepted_total{via}`: samples stored, by the door they came in."""
    metrics_of(app).counter("telemetry_samples_accepted", "GPU samples accepted and stored, by format",
                            ["via"]).labels(via).inc(samples)


def count_unheld(app: Any, via: Via, samples: int) -> None:
    """`platform_telemetry_samples_unheld_total{via}`: of the accepted, those no tracked allocation held."""
    metrics_of(app).counter("telemetry_samples_unheld", "GPU samples stored that no tracked allocation held, "
                                                        "by format", ["via"]).labels(via).inc(samples)


def count_refused(app: Any, via: Via, reason: Refused, samples: int) -> None:
    """`platform_telemetry_samples_refused_total{via, reason}`: samples not stored, by door and reason."""
    metrics_of(app).counter("telemetry_samples_refused", "GPU samples not stored, by format and reason",
                            ["via", "reason"]).labels(via, reason).inc(samples)


def count_receipt(app: Any, via: Via, receipt: BatchReceipt, *, ignored: int = 0, unmapped: int = 0) -> None:
    """A batch the handler took: its samples accepted (and unheld among them) and those it did not store."""
    count_accepted(app, via, receipt.accepted)
    count_unheld(app, via, receipt.unheld)
    counted: dict[Refused, int] = {
        "duplicates": receipt.duplicates, "ignored": ignored, "unmapped": unmapped,
        "refused_future": receipt.refused_future, "refused_other_csp": receipt.refused_other_csp,
        "refused_late": receipt.refused_late}
    for reason, samples in counted.items():
        if samples:
            count_refused(app, via, reason, samples)


class _Shed(Collector):
    """`platform_telemetry_requests_shed_total{reason}`: sample requests the admission gate turned away, read from
    the gate at scrape time: `over_csp_share` (429) and `saturated` (503)."""

    def __init__(self, gate: AdmissionGate) -> None:
        self._gate = gate

    def collect(self) -> Iterator[Metric]:
        rejections = self._gate.rejections
        family = CounterMetricFamily(f"{PREFIX}telemetry_requests_shed", "Sample requests the admission gate "
                                     "turned away: over_csp_share (429), saturated (503)", labels=["reason"])
        family.add_metric(["over_csp_share"], rejections.over_csp_share.total())
        family.add_metric(["saturated"], rejections.saturated)
        yield family


def register(app: Any) -> None:
    """Every series from the start, at 0; the gate's refusals read from it (install_admission first)."""
    for via in VIA:
        count_accepted(app, via, 0)
        count_unheld(app, via, 0)
        for reason in REFUSED[via]:
            count_refused(app, via, reason, 0)
    metrics_of(app).registry.register(_Shed(gate_of(app)))
