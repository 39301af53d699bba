"""One handler for both doors: samples dated in the future or on another CSP's servers refuse an NDJSON batch whole,
and are dropped and counted from a remote-write batch, whose other samples are stored; hosts are mapped to servers."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest

from contracts import UsageRecorded
from support.auth import csp_id
from support.clock import ManualClock
from telemetry.domain.commands import CloseHours, MapHost, OnRefused, RecordSamples, UnmapHost
from telemetry.domain.errors import HostNotMapped, SamplesFromTheFuture, ServersOfAnotherCsp
from telemetry.domain.model import BatchReceipt, HostMapping, Policy, Sample

from .fakes import SERVER, FakeTelemetryUnitOfWork, allocated, minutes_of, telemetry_bus


def ndjson(samples: tuple[Sample, ...], received_at: datetime, *, csp: str = "gov") -> RecordSamples:
    return RecordSamples(samples, csp_id=csp_id(csp), received_at=received_at,
                         line_numbers=tuple(range(1, len(samples) + 1)))


def remote_write(samples: tuple[Sample, ...], received_at: datetime, *, csp: str = "gov",
                 uuids: Mapping[tuple[str, int], str] | None = None) -> RecordSamples:
    """As the remote-write door sends a request: samples named by host, each GPU's UUID as the exporter labelled it."""
    return RecordSamples(samples, csp_id=csp_id(csp), received_at=received_at, on_refused=OnRefused.DROP_SAMPLES,
                         by_hostname=True, uuids=uuids or {})


async def test_an_ndjson_batch_with_a_sample_past_the_clock_skew_is_refused_whole_naming_its_line() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock, Policy(max_clock_skew_s=300))
    now = clock.now
    samples = (Sample(SERVER, 0, now - timedelta(minutes=1), 50.0), Sample(SERVER, 0, now + timedelta(minutes=5), 50.0),
               Sample(SERVER, 1, now + timedelta(minutes=5, microseconds=1), 50.0))
    with pytest.raises(SamplesFromTheFuture) as refused:
        await bus.handle(ndjson(samples, now))
    assert refused.value.lines == [(3, samples[2].ts)]  # five minutes ahead is within the skew; a µs more is not
    assert refused.value.latest == now + timedelta(minutes=5)
    assert (uow.samples.by_key, uow.commits) == ({}, 0)


async def test_a_future_sample_is_named_before_another_csp_s_server_is() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now))  # SERVER is gov's
    samples = (Sample(SERVER, 0, clock.now, 50.0), Sample("beta-01", 0, clock.now + timedelta(hours=1), 50.0))
    with pytest.raises(SamplesFromTheFuture) as refused:
        await bus.handle(ndjson(samples, clock.now, csp="beta"))
    assert [line for line, _ in refused.value.lines] == [2]
    with pytest.raises(ServersOfAnotherCsp):
        await bus.handle(ndjson(samples[:1], clock.now, csp="beta"))


async def test_remote_write_drops_and_counts_future_samples_and_stores_the_rest() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    now = clock.now
    samples = (*minutes_of(now - timedelta(minutes=10), 40.0, minutes=10, server="p3-gov-99"),
               Sample("p3-gov-99", 0, now + timedelta(days=1), 40.0))
    receipt = await bus.handle(remote_write(samples, now))
    assert receipt == BatchReceipt(accepted=20, duplicates=0, allocations_evaluated=0, unheld=20, refused_future=1)
    assert len(uow.samples.by_key) == 20
    assert now + timedelta(days=1) not in {ts for _, _, ts in uow.samples.by_key}


async def test_remote_write_drops_and_counts_another_csp_s_servers_and_attributes_the_rest() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    ours, theirs = allocated(clock.now, server="beta-01", csp="beta"), allocated(clock.now)  # SERVER is gov's
    await bus.handle(ours)
    await bus.handle(theirs)
    start = clock.now
    samples = minutes_of(start, 50.0, server="beta-01") + minutes_of(start, 50.0, minutes=3)
    receipt = await bus.handle(remote_write(samples, clock.advance(minutes=30), csp="beta"))
    assert receipt == BatchReceipt(accepted=60, duplicates=0, allocations_evaluated=1, refused_other_csp=6)
    assert {server for server, _, _ in uow.samples.by_key} == {"beta-01"}
    assert uow.commits == 3  # one transaction each: the two allocations, then the batch
    await bus.handle(CloseHours(now=start + timedelta(hours=3)))
    assert [e.allocation_id for e in uow.outbox.of_type(UsageRecorded)] == [ours.allocation_id]


async def test_remote_write_counts_duplicates_and_samples_no_allocation_held() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    cmd = allocated(clock.now)
    await bus.handle(cmd)
    start = clock.advance(hours=1)
    held, free = minutes_of(start, 50.0, minutes=5), minutes_of(start, 50.0, minutes=5, gpus=(7,))
    first = await bus.handle(remote_write(held + free, clock.advance(minutes=10)))
    again = await bus.handle(remote_write(held[:4] + free[:1] + (held[0],), clock.now))
    assert first == BatchReceipt(accepted=15, duplicates=0, allocations_evaluated=1, unheld=5)
    assert again == BatchReceipt(accepted=0, duplicates=6, allocations_evaluated=0)


async def test_a_mapped_host_s_samples_are_stored_under_its_server_and_attributed() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    cmd = allocated(clock.now)  # SERVER, gov's
    await bus.handle(cmd)
    await bus.handle(MapHost(csp_id=csp_id("gov"), hostname="dgx-a17.gov.internal", server_name=SERVER))
    await bus.handle(MapHost(csp_id=csp_id("beta"), hostname="node-1", server_name="beta-01"))  # beta's, not gov's
    start = clock.advance(hours=1)
    samples = minutes_of(start, 50.0, minutes=2, server="dgx-a17.gov.internal") + minutes_of(
        start, 50.0, minutes=2, gpus=(0,), server="node-1")
    receipt = await bus.handle(remote_write(samples, clock.advance(minutes=5)))
    assert receipt == BatchReceipt(accepted=6, duplicates=0, allocations_evaluated=1, unheld=2)
    assert sorted({(server, gpu) for server, gpu, _ in uow.samples.by_key}) == [
        ("node-1", 0), (SERVER, 0), (SERVER, 1)]  # gov's node-1 is not beta's mapping: its own name
    await bus.handle(CloseHours(now=start + timedelta(hours=3)))
    [usage] = uow.outbox.of_type(UsageRecorded)
    assert usage.allocation_id == cmd.allocation_id


async def test_an_ndjson_batch_names_servers_not_hosts() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(MapHost(csp_id=csp_id("gov"), hostname=SERVER, server_name="elsewhere"))
    await bus.handle(ndjson(minutes_of(clock.now, 50.0, minutes=1), clock.now))
    assert {server for server, _, _ in uow.samples.by_key} == {SERVER}


async def test_a_host_mapped_onto_another_csp_s_server_has_its_samples_dropped() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now))  # SERVER is gov's
    await bus.handle(MapHost(csp_id=csp_id("beta"), hostname="node-1", server_name=SERVER))
    receipt = await bus.handle(remote_write(minutes_of(clock.now, 50.0, minutes=2, server="node-1"), clock.now,
                                            csp="beta"))
    assert (receipt.accepted, receipt.refused_other_csp, uow.samples.by_key) == (0, 4, {})


async def test_a_host_mapping_is_replaced_and_removed() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(MapHost(csp_id=csp_id("gov"), hostname="node-1", server_name="p3-gov-01"))
    replaced = await bus.handle(MapHost(csp_id=csp_id("gov"), hostname="node-1", server_name="p3-gov-02"))
    assert replaced == HostMapping(csp_id("gov"), "node-1", "p3-gov-02")
    assert await uow.hosts.servers(csp_id("gov"), {"node-1", "node-2"}) == {"node-1": "p3-gov-02"}
    await bus.handle(UnmapHost(csp_id=csp_id("gov"), hostname="node-1"))
    assert await uow.hosts.servers(csp_id("gov"), {"node-1"}) == {}
    with pytest.raises(HostNotMapped):
        await bus.handle(UnmapHost(csp_id=csp_id("gov"), hostname="node-1"))


async def test_a_gpu_whose_uuid_a_tracked_slot_carries_lands_on_that_slot_whatever_its_host_is_called() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    cmd = allocated(clock.now, uuids=("GPU-aaaa0000", "GPU-bbbb0001"))  # SERVER's GPUs 0 and 1, gov's
    await bus.handle(cmd)
    # a UUID outranks the mapping
    await bus.handle(MapHost(csp_id=csp_id("gov"), hostname="dgx-7", server_name="elsewhere"))
    start = clock.now
    # the exporter calls them dgx-7's GPUs 4 and 5, and its GPU 6 carries a UUID no slot has
    samples = minutes_of(start, 50.0, minutes=2, gpus=(4, 5, 6), server="dgx-7")
    uuids = {("dgx-7", 4): "GPU-aaaa0000", ("dgx-7", 5): "GPU-bbbb0001", ("dgx-7", 6): "GPU-ffff0006"}
    receipt = await bus.handle(remote_write(samples, clock.advance(minutes=5), uuids=uuids))
    assert receipt == BatchReceipt(accepted=6, duplicates=0, allocations_evaluated=1, unheld=2)
    assert sorted({(server, gpu) for server, gpu, _ in uow.samples.by_key}) == [
        ("elsewhere", 6), (SERVER, 0), (SERVER, 1)]
    assert [h.samples for h in uow.usage.of(cmd.allocation_id).values()] == [4]


async def test_a_uuid_of_another_csp_s_slot_is_dropped_as_that_csp_s_server() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now, uuids=("GPU-aaaa0000", "GPU-bbbb0001")))  # gov's
    samples = minutes_of(clock.now, 50.0, minutes=2, gpus=(0,), server="node-1")
    receipt = await bus.handle(remote_write(samples, clock.advance(minutes=5), csp="beta",
                                            uuids={("node-1", 0): "GPU-bbbb0001"}))
    assert (receipt.accepted, receipt.refused_other_csp, uow.samples.by_key) == (0, 2, {})


async def test_an_ndjson_batch_s_gpus_are_not_placed_by_uuid() -> None:
    clock = ManualClock()
    uow = FakeTelemetryUnitOfWork()
    bus = telemetry_bus(uow, clock)
    await bus.handle(allocated(clock.now, uuids=("GPU-aaaa0000", "GPU-bbbb0001")))
    samples = minutes_of(clock.now, 50.0, minutes=1, gpus=(3,), server="p3-gov-02")
    await bus.handle(RecordSamples(samples, csp_id=csp_id("gov"), received_at=clock.advance(minutes=1),
                                   uuids={("p3-gov-02", 3): "GPU-aaaa0000"}))
    assert set(uow.samples.by_key) == {("p3-gov-02", 3, clock.now - timedelta(minutes=1))}
