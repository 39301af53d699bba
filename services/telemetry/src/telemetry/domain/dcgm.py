"""The DCGM exporter's series, as a CSP's Prometheus sends them, read as GPU samples.

Metric names and labels are dcgm-exporter's own, taken as they are:

- `DCGM_FI_DEV_GPU_UTIL` (percent, 0-100) is the utilization;
- `DCGM_FI_PROF_GR_ENGINE_ACTIVE` (a ratio, 0-1) stands in, times 100, for a GPU and instant that has no
  `DCGM_FI_DEV_GPU_UTIL` sample in the batch;
- `DCGM_FI_DEV_FB_USED` (MiB) and `DCGM_FI_DEV_POWER_USAGE` (W) go with the utilization sample of the same GPU and
  instant, and are counted `merged`; where a GPU and instant has no utilization, they are counted `ignored`;
- every other metric is counted `ignored`.

A series names its GPU by the labels `Hostname` (the host, which the CSP's host mapping turns into a server name)
and `gpu` (the GPU index), and carries `UUID`, which names the GPU instead where it is registered in the inventory;
`modelName` is not read. A series of a read metric without `Hostname` and `gpu`, or with a `gpu` that is not an
index 0-1023, is counted `unmapped`. A point that is not a finite number (Prometheus' stale marker is a NaN), is out
of its metric's range or is dated outside the calendar is counted `ignored`. Every point of the batch is counted
once.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telemetry.domain.model import Sample

UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"
GRAPHICS_ENGINE_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
MEMORY_USED = "DCGM_FI_DEV_FB_USED"
POWER_USAGE = "DCGM_FI_DEV_POWER_USAGE"
METRIC_LABEL, HOST_LABEL, GPU_LABEL, UUID_LABEL = "__name__", "Hostname", "gpu", "UUID"
MAX_GPU_INDEX = 1023
MAX_HOST_LENGTH = 255
MAX_UUID_LENGTH = 80
MAX_MEMORY_MIB = 2**24  # 16 TiB of frame buffer: no GPU comes near it
MAX_POWER_W = 100_000.0
_GPU_INDEX = re.compile(r"[0-9]{1,4}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a server name is one line (contracts.bounds.single_line)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the calendar the rest of the platform takes (contracts.bounds: 1900 to the end of 2199), in Prometheus' ms
_EARLIEST_MS = (datetime(1900, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
_END_MS = (datetime(2200, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
# metric → (scale to our unit, the largest value it may take)
_METRICS: dict[str, tuple[float, float]] = {UTILIZATION: (1.0, 100.0), GRAPHICS_ENGINE_ACTIVE: (100.0, 100.0),
                                            MEMORY_USED: (1.0, MAX_MEMORY_MIB), POWER_USAGE: (1.0, MAX_POWER_W)}


@dataclass(frozen=True)
class Series:
    """One time series of a remote-write batch: its labels, its float points (value, timestamp in ms since the
    epoch), and how many native histogram points it carried (never utilization)."""

    labels: Mapping[str, str]
    points: Sequence[tuple[float, int]]
    histograms: int = 0


@dataclass(frozen=True)
class Readings:
    """The samples of a batch, each named by its host (`server_name` holds the `Hostname` label until the CSP's
    host mapping names the server), the GPU UUIDs they carried, and what was left out; `merged` counts the memory
    and power points that went into a sample, so that every point received is a sample, merged, ignored or
    unmapped."""

    samples: tuple[Sample, ...]
    received: int
    ignored: int
    unmapped: int
    uuids: Mapping[tuple[str, int], str] = field(default_factory=dict)
    merged: int = 0


_Key = tuple[str, int, datetime]


@dataclass
class _Tally:
    by_metric: dict[str, dict[_Key, float]] = field(default_factory=lambda: {m: {} for m in _METRICS})
    uuids: dict[tuple[str, int], str] = field(default_factory=dict)
    received: int = 0
    ignored: int = 0
    unmapped: int = 0


def readings(batch: Iterable[Series]) -> Readings:
    tally = _Tally()
    for series in batch:
        tally.received += len(series.points) + series.histograms
        tally.ignored += series.histograms
        _read(series, tally)
    utilization = dict(tally.by_metric[GRAPHICS_ENGINE_ACTIVE])
    tally.ignored += len(utilization.keys() & tally.by_metric[UTILIZATION].keys())
    utilization.update(tally.by_metric[UTILIZATION])
    memory, power = tally.by_metric[MEMORY_USED], tally.by_metric[POWER_USAGE]
    merged = len(memory.keys() & utilization.keys()) + len(power.keys() & utilization.keys())
    tally.ignored += len(memory) + len(power) - merged
    samples = tuple(Sample(host, index, ts, pct, memory.get((host, index, ts)), power.get((host, index, ts)))
                    for (host, index, ts), pct in utilization.items())
    return Readings(samples, tally.received, tally.ignored, tally.unmapped, tally.uuids, merged=merged)


def _read(series: Series, tally: _Tally) -> None:
    metric = series.labels.get(METRIC_LABEL, "")
    if metric not in _METRICS:
        tally.ignored += len(series.points)
        return
    gpu = gpu_of(series.labels)
    if gpu is None:
        tally.unmapped += len(series.points)
        return
    host, index = gpu
    uuid = series.labels.get(UUID_LABEL, "")
    if 0 < len(uuid) <= MAX_UUID_LENGTH and not _CONTROL.search(uuid):
        tally.uuids[gpu] = uuid
    scale, most = _METRICS[metric]
    kept = tally.by_metric[metric]
    for value, timestamp_ms in series.points:
        scaled = value * scale
        # NaN (the stale marker among them) and infinities fail both comparisons
        if not 0.0 <= scaled <= most or not _EARLIEST_MS <= timestamp_ms < _END_MS:
            tally.ignored += 1
            continue
        key = (host, index, _EPOCH + timedelta(milliseconds=timestamp_ms))
        tally.ignored += key in kept  # the same point twice in one batch counts once
        kept[key] = scaled


def gpu_of(labels: Mapping[str, str]) -> tuple[str, int] | None:
    """(host, GPU index) a series names, or None when it names no GPU we can place."""
    host, gpu = labels.get(HOST_LABEL, ""), labels.get(GPU_LABEL, "")
    if not 1 <= len(host) <= MAX_HOST_LENGTH or _CONTROL.search(host) or not _GPU_INDEX.fullmatch(gpu):
        return None
    index = int(gpu)
    return (host, index) if index <= MAX_GPU_INDEX else None
