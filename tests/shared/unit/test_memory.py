"""The garbage collector of a service process: start-up's objects frozen out of later collections, the young
generation's threshold from the settings, and every collection's pause in `platform_gc_pause_seconds`, read with the
Prometheus client library's own parser."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest
from pydantic import ValidationError

from servicekit.memory import BUCKETS, PAUSES, settle_after_start
from servicekit.metrics import ProcessMetrics
from servicekit.settings import GcSettings
from support.metrics import parse, value
from telemetry.config import Settings


@pytest.fixture
def collector_as_it_was() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.mark.usefixtures("collector_as_it_was")
def test_what_start_up_built_is_frozen_and_what_comes_after_is_still_collected() -> None:
    built_at_start = [Cycle() for _ in range(100)]
    settle_after_start(GcSettings(young_threshold=5_000))
    assert gc.get_threshold()[0] == 5_000
    assert gc.get_freeze_count() > len(built_at_start)
    visited = {id(o) for generation in (0, 1, 2) for o in gc.get_objects(generation=generation)}
    assert not any(id(c) in visited for c in built_at_start)  # frozen: in no generation a collection visits
    frozen = gc.get_freeze_count()
    later = Cycle()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None  # a cycle made after start-up is garbage like any other
    assert gc.get_freeze_count() == frozen  # and start-up's objects were left where they were


@pytest.mark.usefixtures("collector_as_it_was")
def test_freezing_can_be_turned_off() -> None:
    gc.unfreeze()
    settle_after_start(GcSettings(freeze_after_start=False))
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == 700


def test_each_collection_is_counted_under_its_generation_with_its_pause() -> None:
    metrics = ProcessMetrics("api")
    before = parse(generate_latest(metrics.registry).decode())
    gc.collect(0)
    gc.collect(2)
    gc.collect(2)
    after = parse(generate_latest(metrics.registry).decode())

    def count(samples: dict, generation: str) -> float:  # type: ignore[type-arg]
        return value(samples, "platform_gc_pause_seconds_count", generation=generation) or 0.0

    assert count(after, "2") - count(before, "2") == 2
    assert count(after, "0") - count(before, "0") >= 1
    assert (value(after, "platform_gc_pause_seconds_sum", generation="2") or 0) > (
        value(before, "platform_gc_pause_seconds_sum", generation="2") or 0)
    buckets = [value(after, "platform_gc_pause_seconds_bucket", generation="2", le=str(b)) for b in BUCKETS]
    assert buckets == sorted(buckets)  # cumulative
    assert value(after, "platform_gc_pause_seconds_bucket", generation="2", le="+Inf") == count(after, "2")


def test_one_recorder_however_many_registries() -> None:
    ProcessMetrics("api")
    ProcessMetrics("worker")
    assert gc.callbacks.count(PAUSES) == 1


@pytest.mark.parametrize("threshold", ["99", "1000001"])
def test_the_young_threshold_is_bounded(monkeypatch: pytest.MonkeyPatch, threshold: str) -> None:
    monkeypatch.setenv("TELEMETRY_GC__YOUNG_THRESHOLD", threshold)
    with pytest.raises(ValidationError, match="young_threshold"):
        Settings()


def test_the_collector_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_GC__FREEZE_AFTER_START", "false")
    monkeypatch.setenv("TELEMETRY_GC__YOUNG_THRESHOLD", "2000")
    assert Settings().gc == GcSettings(freeze_after_start=False, young_threshold=2000)
