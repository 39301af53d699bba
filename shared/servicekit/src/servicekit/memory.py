"""The garbage collector of a service process: what start-up built is frozen out of its collections, and every
collection is timed (`platform_gc_pause_seconds`).

A full collection visits every container object the process holds, and most of a service's are built once at start-up
(its modules, models, routes, compiled queries): hundreds of thousands of objects, visited again by every full
collection for as long as the process runs. Measured in the pipeline benchmark, a service's full collections paused it
for 100-450 ms, each one stalling every request and event it was serving. Frozen (`gc.freeze`), those objects are left
out of every later collection; what the process creates afterwards is collected as before. A service's cycles are
still freed: only start-up's objects, which live as long as the process, are passed over.
"""
from __future__ import annotations

import gc
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from servicekit.settings import GcSettings

GENERATIONS = (0, 1, 2)
# pause buckets, seconds: a young collection takes well under a millisecond; a full one of an unfrozen process, 100s
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class GcPauses:
    """Every collection of this process, timed, by generation: one recorder per process (the collector's callbacks
    are the interpreter's), read by any number of registries."""

    def __init__(self) -> None:
        self.counts = {g: [0] * (len(BUCKETS) + 1) for g in GENERATIONS}
        self.sums = dict.fromkeys(GENERATIONS, 0.0)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took, generation = time.perf_counter() - self._started, info["generation"]
        self.sums[generation] += took
        self.counts[generation][bisect_left(BUCKETS, took)] += 1  # the first bound ≥ took; past the last, +Inf


PAUSES = GcPauses()


def record_pauses() -> GcPauses:
    """Start timing this process's collections (once, however often called)."""
    if PAUSES not in gc.callbacks:
        gc.callbacks.append(PAUSES)
    return PAUSES


def settle_after_start(settings: GcSettings) -> None:
    """Called once a process has built what it serves with: collect what start-up left, freeze what remains, and
    set the young generation's threshold."""
    gc.set_threshold(settings.young_threshold, *gc.get_threshold()[1:])
    if settings.freeze_after_start:
        gc.collect()
        gc.freeze()


class GcCollector(Collector):
    """The collections' pauses as a Prometheus histogram, by generation."""

    def __init__(self, pauses: GcPauses, name: str) -> None:
        self._pauses = pauses
        self._name = name

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, "Time the garbage collector paused this process, by generation",
                                       labels=["generation"])
        for generation in GENERATIONS:
            running, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), self._pauses.counts[generation], strict=True):
                running += count
                buckets.append((repr(bound) if bound != float("inf") else "+Inf", running))
            family.add_metric([str(generation)], buckets, self._pauses.sums[generation])
        yield family
