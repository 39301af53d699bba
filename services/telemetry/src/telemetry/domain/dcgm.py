"""The DCGM exporter's series, as a CSP's Prometheus sends them, read as GPU utilization samples.

Metric names and labels are dcgm-exporter's own, taken as they are:

- `DCGM_FI_DEV_GPU_UTIL` (percent, 0-100) is the utilization;
- `DCGM_FI_PROF_GR_ENGINE_ACTIVE` (a ratio, 0-1) stands in, times 100, for a GPU and instant that has no
  `DCGM_FI_DEV_GPU_UTIL` sample in the batch;
- every other metric (`DCGM_FI_DEV_FB_USED`, `DCGM_FI_DEV_POWER_USAGE`, …) is not stored yet and counted `ignored`.

A series names its GPU by the labels `Hostname` (the host, which the CSP's host mapping turns into a server name)
and `gpu` (the GPU index); `UUID` and `modelName` are not read yet. A series of one of the two metrics without
both, or with a `gpu` that is not an index 0-1023, is counted `unmapped`. A point that is not a finite number
(Prometheus' stale marker is a NaN), is out of its metric's range or is dated outside the calendar is counted
`ignored`. Every point of the batch is counted once.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telemetry.domain.model import Sample

UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"
GRAPHICS_ENGINE_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
METRIC_LABEL, HOST_LABEL, GPU_LABEL = "__name__", "Hostname", "gpu"
MAX_GPU_INDEX = 1023
MAX_HOST_LENGTH = 255
_GPU_INDEX = re.compile(r"[0-9]{1,4}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a server name is one line (contracts.bounds.single_line)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the calendar the rest of the platform takes (contracts.bounds: 1900 to the end of 2199), in Prometheus' ms
_EARLIEST_MS = (datetime(1900, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
_END_MS = (datetime(2200, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class Series:
    """One time series of a remote-write batch: its labels, its float points (value, timestamp in ms since the
    epoch), and how many native histogram points it carried (never utilization)."""

    labels: Mapping[str, str]
    points: Sequence[tuple[float, int]]
    histograms: int = 0


@dataclass(frozen=True)
class Readings:
    """The utilization samples of a batch, each named by its host (`server_name` holds the `Hostname` label until
    the CSP's host mapping names the server), and what was left out."""

    samples: tuple[Sample, ...]
    received: int
    ignored: int
    unmapped: int


@dataclass
class _Tally:
    utilization: list[Sample] = field(default_factory=list)
    engine: list[Sample] = field(default_factory=list)
    received: int = 0
    ignored: int = 0
    unmapped: int = 0


def readings(batch: Iterable[Series]) -> Readings:
    tally = _Tally()
    for series in batch:
        tally.received += len(series.points) + series.histograms
        tally.ignored += series.histograms
        _read(series, tally)
    measured = {(s.server_name, s.gpu_index, s.ts) for s in tally.utilization}
    standing_in = [s for s in tally.engine if (s.server_name, s.gpu_index, s.ts) not in measured]
    tally.ignored += len(tally.engine) - len(standing_in)
    return Readings((*tally.utilization, *standing_in), tally.received, tally.ignored, tally.unmapped)


def _read(series: Series, tally: _Tally) -> None:
    metric = series.labels.get(METRIC_LABEL)
    if metric not in (UTILIZATION, GRAPHICS_ENGINE_ACTIVE):
        tally.ignored += len(series.points)
        return
    gpu = gpu_of(series.labels)
    if gpu is None:
        tally.unmapped += len(series.points)
        return
    host, index = gpu
    scale, kept = (1.0, tally.utilization) if metric == UTILIZATION else (100.0, tally.engine)
    for value, timestamp_ms in series.points:
        pct = value * scale
        # NaN (the stale marker among them) and infinities fail both comparisons
        if not 0.0 <= pct <= 100.0 or not _EARLIEST_MS <= timestamp_ms < _END_MS:
            tally.ignored += 1
            continue
        kept.append(Sample(host, index, _EPOCH + timedelta(milliseconds=timestamp_ms), pct))


def gpu_of(labels: Mapping[str, str]) -> tuple[str, int] | None:
    """(host, GPU index) a series names, or None when it names no GPU we can place."""
    host, gpu = labels.get(HOST_LABEL, ""), labels.get(GPU_LABEL, "")
    if not 1 <= len(host) <= MAX_HOST_LENGTH or _CONTROL.search(host) or not _GPU_INDEX.fullmatch(gpu):
        return None
    index = int(gpu)
    return (host, index) if index <= MAX_GPU_INDEX else None
