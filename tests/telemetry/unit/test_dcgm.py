"""The DCGM exporter's series read as GPU samples: which metrics count, how memory and power go with the utilization
of the same GPU and instant, which labels place a GPU, and how every point of a batch is counted once."""
from __future__ import annotations

import math
import struct
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.domain.dcgm import (
    GRAPHICS_ENGINE_ACTIVE,
    MAX_MEMORY_MIB,
    MAX_POWER_W,
    MEMORY_USED,
    POWER_USAGE,
    UTILIZATION,
    Readings,
    Series,
    gpu_of,
    readings,
)
from telemetry.domain.model import Sample

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
MS = int(AT.timestamp() * 1000)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]  # Prometheus' stale marker
UUID = "GPU-5fd4a7a2-0b5c-3a29-1c3e-5f0d3b2a9e11"


def dcgm(metric: str, *points: tuple[float, int], host: str | None = "dgx-01", gpu: str | None = "0",
         uuid: str | None = UUID, **labels: str) -> Series:
    """A series as dcgm-exporter labels it, scraped by Prometheus."""
    named = {"__name__": metric, "modelName": "NVIDIA H100 80GB HBM3", "device": "nvidia0",
             "instance": "dgx-01:9400", "job": "dcgm", **labels}
    for label, value in (("Hostname", host), ("gpu", gpu), ("UUID", uuid)):
        if value is not None:
            named[label] = value
    return Series(named, list(points))


def test_gpu_util_is_the_utilization_of_the_host_and_gpu_the_labels_name() -> None:
    found = readings([dcgm(UTILIZATION, (37.0, MS), (41.0, MS + 15_000), gpu="3")])
    assert found == Readings(samples=(Sample("dgx-01", 3, AT, 37.0), Sample("dgx-01", 3, AT + timedelta(seconds=15),
                                                                             41.0)),
                             received=2, ignored=0, unmapped=0, uuids={("dgx-01", 3): UUID})


def test_the_graphics_engine_ratio_stands_in_times_100_where_no_gpu_util_was_sent() -> None:
    found = readings([dcgm(UTILIZATION, (20.0, MS), gpu="0"),
                      dcgm(GRAPHICS_ENGINE_ACTIVE, (0.5, MS), (0.25, MS + 1), gpu="0"),
                      dcgm(GRAPHICS_ENGINE_ACTIVE, (0.75, MS), gpu="1")])
    by_gpu = {(s.gpu_index, s.ts): s.utilization_pct for s in found.samples}
    assert by_gpu == {(0, AT): 20.0, (0, AT + timedelta(milliseconds=1)): 25.0, (1, AT): 75.0}
    assert (found.received, found.ignored) == (4, 1)  # gpu 0's ratio at AT is superseded by its GPU_UTIL


def test_memory_and_power_go_with_the_utilization_of_the_same_gpu_and_instant() -> None:
    found = readings([dcgm(UTILIZATION, (37.0, MS), (41.0, MS + 60_000)),
                      dcgm(MEMORY_USED, (40960.0, MS), (1024.0, MS + 1)),
                      dcgm(POWER_USAGE, (350.5, MS), (300.0, MS + 60_000)),
                      dcgm(GRAPHICS_ENGINE_ACTIVE, (0.5, MS), gpu="1"), dcgm(POWER_USAGE, (120.0, MS), gpu="1")])
    assert sorted(found.samples, key=lambda s: (s.gpu_index, s.ts)) == [
        Sample("dgx-01", 0, AT, 37.0, memory_used_mib=40960.0, power_w=350.5),
        Sample("dgx-01", 0, AT + timedelta(minutes=1), 41.0, memory_used_mib=None, power_w=300.0),
        Sample("dgx-01", 1, AT, 50.0, memory_used_mib=None, power_w=120.0),  # with the stand-in utilization too
    ]
    # 8 points: 3 samples, 4 merged into them, and the memory at MS + 1 with no utilization to go with, ignored
    assert (found.received, found.merged, found.ignored, found.unmapped) == (8, 4, 1, 0)


def test_memory_and_power_without_any_utilization_are_ignored_and_so_are_other_metrics_and_histograms() -> None:
    found = readings([dcgm(MEMORY_USED, (1024.0, MS), (2048.0, MS + 1)),
                      dcgm(POWER_USAGE, (350.0, MS)), Series({"__name__": "up"}, [(1.0, MS)]),
                      dcgm("DCGM_FI_DEV_SM_CLOCK", (1980.0, MS)),
                      Series({"__name__": UTILIZATION, "Hostname": "dgx-01", "gpu": "0"}, [], histograms=2)])
    assert found == Readings(samples=(), received=7, ignored=7, unmapped=0, uuids={("dgx-01", 0): UUID})


def test_memory_and_power_out_of_their_ranges_are_ignored() -> None:
    found = readings([dcgm(UTILIZATION, (10.0, MS), (20.0, MS + 1), (30.0, MS + 2)),
                      dcgm(MEMORY_USED, (-1.0, MS), (MAX_MEMORY_MIB + 1, MS + 1), (MAX_MEMORY_MIB, MS + 2),
                           (math.nan, MS + 3)),
                      dcgm(POWER_USAGE, (-0.5, MS), (MAX_POWER_W + 0.5, MS + 1), (MAX_POWER_W, MS + 2),
                           (STALE_NAN, MS + 3))])
    assert sorted((s.utilization_pct, s.memory_used_mib, s.power_w) for s in found.samples) == [
        (10.0, None, None), (20.0, None, None), (30.0, float(MAX_MEMORY_MIB), MAX_POWER_W)]
    assert (found.received, found.merged, found.ignored) == (11, 2, 6)


def test_the_same_point_twice_in_a_batch_counts_once_the_last_standing() -> None:
    found = readings([dcgm(UTILIZATION, (10.0, MS)), dcgm(UTILIZATION, (30.0, MS)),
                      dcgm(MEMORY_USED, (100.0, MS), (200.0, MS))])
    assert found.samples == (Sample("dgx-01", 0, AT, 30.0, memory_used_mib=200.0),)
    assert (found.received, found.merged, found.ignored) == (4, 1, 2)


def test_stale_markers_and_any_other_nan_or_infinity_are_ignored() -> None:
    assert math.isnan(STALE_NAN)
    found = readings([dcgm(UTILIZATION, (STALE_NAN, MS), (math.nan, MS + 1), (math.inf, MS + 2),
                           (-math.inf, MS + 3), (50.0, MS + 4)),
                      dcgm(GRAPHICS_ENGINE_ACTIVE, (STALE_NAN, MS + 5), (1e308, MS + 6), gpu="1")])
    assert [s.utilization_pct for s in found.samples] == [50.0]
    assert (found.received, found.ignored) == (7, 6)


def test_values_out_of_their_metric_s_range_and_instants_outside_the_calendar_are_ignored() -> None:
    found = readings([dcgm(UTILIZATION, (100.5, MS), (-0.1, MS + 1), (100.0, MS + 2), (0.0, MS + 3)),
                      dcgm(GRAPHICS_ENGINE_ACTIVE, (1.01, MS), (1.0, MS + 1), gpu="1"),
                      dcgm(UTILIZATION, (10.0, -2_208_988_800_001), (10.0, 7_258_118_400_000), (10.0, 0), gpu="2")])
    assert sorted((s.gpu_index, s.utilization_pct) for s in found.samples) == [
        (0, 0.0), (0, 100.0), (1, 100.0), (2, 10.0)]  # 1970 is in the calendar; 1899 and 2200 are not
    assert (found.received, found.ignored) == (9, 5)


def test_a_series_without_a_host_or_a_gpu_index_in_range_is_counted_unmapped() -> None:
    unplaceable = [dcgm(UTILIZATION, (50.0, MS), host=None), dcgm(UTILIZATION, (50.0, MS), gpu=None),
                   dcgm(UTILIZATION, (50.0, MS), host=""), dcgm(UTILIZATION, (50.0, MS), gpu="1024"),
                   dcgm(UTILIZATION, (50.0, MS), gpu="-1"), dcgm(UTILIZATION, (50.0, MS), gpu="0x1"),
                   dcgm(UTILIZATION, (50.0, MS), gpu=" 1"), dcgm(UTILIZATION, (50.0, MS), host="a\nb"),
                   dcgm(GRAPHICS_ENGINE_ACTIVE, (0.5, MS), (0.5, MS + 1), host="x" * 256),
                   dcgm(MEMORY_USED, (1.0, MS), host=None), dcgm(POWER_USAGE, (1.0, MS), gpu="1024")]
    found = readings([*unplaceable, dcgm(UTILIZATION, (50.0, MS), gpu="1023", host="x" * 255)])
    assert found == Readings(samples=(Sample("x" * 255, 1023, AT, 50.0),), received=13, ignored=0, unmapped=12,
                             uuids={("x" * 255, 1023): UUID})  # an unplaced series' UUID names nothing


def test_a_series_names_its_gpu_by_hostname_and_gpu_alone() -> None:
    assert gpu_of({"Hostname": "dgx-01", "gpu": "7", "UUID": "GPU-1", "instance": "other:9400"}) == ("dgx-01", 7)
    assert gpu_of({"hostname": "dgx-01", "gpu": "7"}) is None  # label names are case-sensitive
    assert gpu_of({"Hostname": "dgx-01", "gpu": "07"}) == ("dgx-01", 7)


def test_the_uuid_each_gpu_carried_is_collected_by_host_and_index() -> None:
    found = readings([dcgm(UTILIZATION, (10.0, MS), gpu="0", uuid="GPU-a"),
                      dcgm(MEMORY_USED, (10.0, MS), gpu="1", uuid="GPU-b"),  # any metric read names its GPU
                      dcgm(UTILIZATION, (10.0, MS), gpu="2", uuid=None),
                      dcgm(UTILIZATION, (10.0, MS), gpu="3", uuid=""),
                      dcgm(UTILIZATION, (10.0, MS), gpu="4", uuid="G" * 81),
                      dcgm(UTILIZATION, (10.0, MS), gpu="5", uuid="GPU-\nc"),
                      dcgm(UTILIZATION, (10.0, MS), gpu="6", uuid="G" * 80),
                      dcgm("DCGM_FI_DEV_SM_CLOCK", (1.0, MS), gpu="7", uuid="GPU-d"),  # a metric not read
                      dcgm(UTILIZATION, (10.0, MS), host="dgx-02", gpu="0", uuid="GPU-e")])
    assert found.uuids == {("dgx-01", 0): "GPU-a", ("dgx-01", 1): "GPU-b", ("dgx-01", 6): "G" * 80,
                           ("dgx-02", 0): "GPU-e"}


points = st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True),
                            st.integers(min_value=-2**63, max_value=2**63 - 1)), max_size=5)
few_points = st.lists(st.tuples(st.sampled_from([0.5, 50.0, 400.0, math.nan]),
                                st.sampled_from([MS, MS + 1, MS + 2])), max_size=5)
labels = st.fixed_dictionaries({}, optional={
    "__name__": st.sampled_from([UTILIZATION, GRAPHICS_ENGINE_ACTIVE, MEMORY_USED, POWER_USAGE, "up"]),
    "Hostname": st.sampled_from(["", "dgx-01", "dgx-02"]), "gpu": st.sampled_from(["0", "1", "1024", "x"]),
    "UUID": st.sampled_from(["", "GPU-1", "GPU-2"])})


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(st.builds(Series, labels=labels, points=st.one_of(points, few_points),
                                histograms=st.integers(0, 3)), max_size=8))
def test_every_point_of_a_batch_is_counted_once(batch: list[Series]) -> None:
    found = readings(batch)
    assert found.received == sum(len(s.points) + s.histograms for s in batch)
    assert len(found.samples) + found.merged + found.ignored + found.unmapped == found.received
    assert found.merged == sum(s.memory_used_mib is not None for s in found.samples) + sum(
        s.power_w is not None for s in found.samples)
    assert len({(s.server_name, s.gpu_index, s.ts) for s in found.samples}) == len(found.samples)
    assert all(0.0 <= s.utilization_pct <= 100.0 and s.ts.tzinfo is not None for s in found.samples)
