"""The inventory's handlers on the in-memory fakes: CSPs, servers and their GPUs' UUIDs, windows, and new capacity
offered at once."""
from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import pytest

from allocation.domain.commands import (
    AnnounceCsps,
    EndWindow,
    OpenWindow,
    RegisterCsp,
    RegisterServer,
    SeedInventory,
    SetGpuUuids,
)
from allocation.domain.errors import DuplicateName, InvalidInput, NotFound, Overlap
from allocation.domain.model import PROGRAM_ZONE, Status
from contracts import CspRegistered, EligibilityRecheckRequested, ResourceAllocated
from support.clock import ManualClock

from .fakes import FakeAllocationUnitOfWork, allocation_bus, gpu_uuids, request, seeded, servers

JAN_1, FEB_1, MAR_1 = (datetime(2027, m, 1, tzinfo=PROGRAM_ZONE) for m in (1, 2, 3))  # days start in Korea


async def test_a_csp_is_registered_once_and_a_second_of_the_same_name_is_a_conflict() -> None:
    uow = FakeAllocationUnitOfWork()
    bus = allocation_bus(uow, ManualClock())
    created = await bus.handle(RegisterCsp(name="gamma-cloud"))
    with pytest.raises(DuplicateName) as refused:
        await bus.handle(RegisterCsp(name="gamma-cloud"))
    assert refused.value.field == "name"
    assert list(uow.inventory.csps.values()) == [created]
    assert uow.commits == 1
    # announced once, with the id a CSP's client is linked to it by
    assert [(e.csp_id, e.name) for e in uow.outbox.of_type(CspRegistered)] == [(created.id, "gamma-cloud")]


async def test_every_csp_is_announced_again_on_request_for_those_registered_before_announcements() -> None:
    uow, bus = await seeded(ManualClock())
    await bus.handle(RegisterCsp(name="alpha-cloud"))
    uow.published.clear()
    assert await bus.handle(AnnounceCsps()) == 2
    assert [(e.csp_id, e.name) for e in uow.outbox.of_type(CspRegistered)] == [
        (uow.inventory.csps[name].id, name) for name in ("alpha-cloud", "gamma-cloud")]


async def test_a_server_serves_its_pool_from_its_first_to_its_last_day() -> None:
    uow, bus = await seeded(ManualClock())
    (spec,) = servers("P1", 1, prefix="new", available_from=date(2027, 1, 1), available_until=date(2027, 1, 31))
    server = await bus.handle(spec)
    assert (server.csp, server.pool, server.gpus) == ("gamma-cloud", "P1", 8)
    assert [(w.pool, w.starts_at, w.ends_at, w.note) for w in uow.inventory.windows_of("new-01")] == [
        ("P1", JAN_1, FEB_1, "registered")]


async def test_a_server_of_an_unknown_csp_or_a_taken_name_is_refused_and_changes_nothing() -> None:
    uow, bus = await seeded(ManualClock())
    (unknown_csp,) = servers("P3", 1, prefix="fresh")
    with pytest.raises(InvalidInput) as no_csp:
        await bus.handle(RegisterServer(**{**vars(unknown_csp), "csp": "nowhere-cloud"}))
    with pytest.raises(DuplicateName) as taken:
        await bus.handle(servers("P1", 1, prefix="p3")[0])
    assert (no_csp.value.problems, taken.value.field) == ([("csp", "no CSP named 'nowhere-cloud'")], "name")
    assert (len(uow.inventory.servers), len(uow.inventory.windows_by_id)) == (4, 4)


async def test_seeding_creates_what_is_missing_and_a_second_run_nothing() -> None:
    uow = FakeAllocationUnitOfWork()
    bus = allocation_bus(uow, ManualClock())
    seed = SeedInventory(csps=("gamma-cloud", "beta-cloud"), servers=servers("P3", 3))
    assert await bus.handle(seed) == 5
    assert await bus.handle(seed) == 0
    assert sorted(s.name for s in uow.inventory.servers.values()) == ["p3-01", "p3-02", "p3-03"]
    assert len(uow.inventory.windows_by_id) == 3
    # each CSP created is announced, once: the second run announces none
    announced = [(e.csp_id, e.name) for e in uow.outbox.of_type(CspRegistered)]
    assert announced == [(uow.inventory.csps[name].id, name) for name in ("gamma-cloud", "beta-cloud")]


async def test_a_new_server_is_offered_at_once_to_the_waiting_line_of_its_pool() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock, *servers("P3", 1))
    waiting = request(8)
    await bus.handle(request(8))                              # fills the pool
    await bus.handle(waiting)
    (spec,) = servers("P3", 1, prefix="more")
    await bus.handle(spec)
    (held,) = uow.allocations.with_status(Status.OFFERED)
    assert (held.application_id, {s.server_name for s in held.slots}) == (waiting.application_id, {"more-01"})
    (recheck,) = uow.outbox.of_type(EligibilityRecheckRequested)
    assert uow.waiting.waitlisted[waiting.application_id].offer_id == recheck.offer_id
    assert uow.offers[recheck.offer_id].requested_at == clock.now


async def test_an_idle_window_goes_to_a_waiting_request_that_accepts_a_short_window() -> None:
    """A government server lent to P3 for six weeks: the request that accepts one month gets those weeks, the one
    that wants its whole period keeps waiting."""
    uow, bus = await seeded(ManualClock(), *servers("P3", 1), *servers("P1", 1, prefix="gov"))
    await bus.handle(request(8))
    flexible, rigid = request(8, score=70, months=1), request(8, score=90)
    await bus.handle(flexible)
    await bus.handle(rigid)
    gov = uow.inventory.server_named("gov-01")
    await bus.handle(EndWindow(gov.id, uow.inventory.windows_of("gov-01")[0].id, date(2026, 12, 31)))
    window = await bus.handle(OpenWindow(gov.id, "P3", date(2027, 1, 1), date(2027, 2, 11), "project starts late"))
    (held,) = uow.allocations.with_status(Status.OFFERED)
    assert (held.application_id, held.starts_at, held.ends_at) == (
        flexible.application_id, JAN_1, datetime(2027, 2, 12, tzinfo=PROGRAM_ZONE))
    assert (window.pool, window.note) == ("P3", "project starts late")


async def test_a_window_overlapping_another_of_the_server_or_of_an_unknown_server_is_refused() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P3", 1))
    server = uow.inventory.server_named("p3-01")
    with pytest.raises(Overlap) as clash:
        await bus.handle(OpenWindow(server.id, "P1", date(2027, 1, 1), None))
    with pytest.raises(NotFound):
        await bus.handle(OpenWindow(uuid4(), "P1", date(2027, 1, 1), None))
    assert clash.value.field == "starts_on" and "P3" in str(clash.value)
    assert len(uow.inventory.windows_by_id) == 1


async def test_a_window_ends_earlier_only_when_nobody_holds_the_gpus_after_the_new_end() -> None:
    spec = servers("P3", 1, available_from=date(2027, 1, 1), available_until=date(2027, 1, 31))
    uow, bus = await seeded(ManualClock(), *spec)
    await bus.handle(request(8, start=date(2027, 1, 5), end=date(2027, 1, 20)))
    server, (window,) = uow.inventory.server_named("p3-01"), uow.inventory.windows_of("p3-01")
    with pytest.raises(Overlap) as held:
        await bus.handle(EndWindow(server.id, window.id, date(2027, 1, 10)))
    assert held.value.field == "ends_on" and uow.inventory.windows_of("p3-01")[0].ends_at == FEB_1
    shortened = await bus.handle(EndWindow(server.id, window.id, date(2027, 1, 25)))
    assert shortened.ends_at == uow.inventory.windows_of("p3-01")[0].ends_at == datetime(2027, 1, 26,
                                                                                          tzinfo=PROGRAM_ZONE)


async def test_a_window_that_ends_later_offers_what_it_adds_to_the_waiting_line() -> None:
    spec = servers("P3", 1, available_from=date(2027, 1, 1), available_until=date(2027, 1, 31))
    uow, bus = await seeded(ManualClock(), *spec)
    later = request(8, start=date(2027, 2, 1), end=date(2027, 2, 28))
    await bus.handle(later)                                    # no window covers February yet
    assert later.application_id in uow.waiting.waitlisted
    server, (window,) = uow.inventory.server_named("p3-01"), uow.inventory.windows_of("p3-01")
    extended = await bus.handle(EndWindow(server.id, window.id, date(2027, 2, 28)))
    assert extended.ends_at == MAR_1
    (held,) = uow.allocations.with_status(Status.OFFERED)
    assert held.application_id == later.application_id


async def test_a_window_cannot_end_later_into_another_window_nor_be_moved_on_another_server() -> None:
    spec = servers("P3", 2, available_from=date(2027, 1, 1), available_until=date(2027, 1, 31))
    uow, bus = await seeded(ManualClock(), *spec)
    server, (window,) = uow.inventory.server_named("p3-01"), uow.inventory.windows_of("p3-01")
    await bus.handle(OpenWindow(server.id, "P1", date(2027, 3, 1), None))
    with pytest.raises(Overlap) as clash:
        await bus.handle(EndWindow(server.id, window.id, None))
    with pytest.raises(NotFound):
        await bus.handle(EndWindow(uow.inventory.server_named("p3-02").id, window.id, None))
    assert "P1" in str(clash.value)
    assert uow.inventory.windows_of("p3-01")[0].ends_at == FEB_1


async def test_a_server_keeps_its_gpu_uuids_in_index_order_and_its_allocated_gpus_carry_them() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P3", 1, with_uuids=True))
    (spec,) = servers("P3", 1, prefix="new")
    typed = tuple(u.upper() for u in gpu_uuids("new-01"))  # as an operator may type them
    server = await bus.handle(RegisterServer(**{**vars(spec), "gpu_uuids": typed}))
    assert server.gpu_uuids == uow.inventory.server_named("new-01").gpu_uuids == gpu_uuids("new-01")
    placed = await bus.handle(request(10))
    assert [(s.server_name, s.gpu_index, s.gpu_uuid) for s in placed.slots] == [
        *(("new-01", i, u) for i, u in enumerate(gpu_uuids("new-01"))),
        *(("p3-01", i, u) for i, u in enumerate(gpu_uuids("p3-01")[:2]))]
    (event,) = uow.outbox.of_type(ResourceAllocated)
    assert [s.gpu_uuid for s in event.slots] == [s.gpu_uuid for s in placed.slots]


async def test_a_server_without_gpu_uuids_allocates_gpus_without_them() -> None:
    uow, bus = await seeded(ManualClock())
    await bus.handle(request(2))
    (event,) = uow.outbox.of_type(ResourceAllocated)
    assert [s.gpu_uuid for s in event.slots] == [None, None]
    assert uow.inventory.server_named("p3-01").gpu_uuids == ()


async def test_gpu_uuids_of_the_wrong_count_malformed_or_repeated_are_refused_naming_each_and_change_nothing() -> None:
    uow, bus = await seeded(ManualClock())
    (spec,) = servers("P3", 1, prefix="new", gpus=4)
    one, two, three, _ = gpu_uuids("new-01", 4)
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(RegisterServer(**{**vars(spec), "gpu_uuids": (one, "GPU-xyz", two.upper(), two)}))
    with pytest.raises(InvalidInput) as too_few:
        await bus.handle(RegisterServer(**{**vars(spec), "gpu_uuids": (one, two, three)}))
    assert [f for f, _ in refused.value.problems] == ["gpu_uuids.1", "gpu_uuids.3"]
    assert "repeats gpu_uuids.2" in refused.value.problems[1][1]
    assert too_few.value.problems == [("gpu_uuids", "3 given for 4 GPUs: one per GPU in index order, or none")]
    assert len(uow.inventory.servers) == 4 and len(uow.inventory.windows_by_id) == 4


async def test_a_gpu_uuid_another_server_has_is_a_conflict_naming_it() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P3", 1, with_uuids=True))
    (spec,) = servers("P3", 1, prefix="new")
    taken = (*gpu_uuids("new-01")[:7], gpu_uuids("p3-01")[5])
    with pytest.raises(DuplicateName) as conflict:
        await bus.handle(RegisterServer(**{**vars(spec), "gpu_uuids": taken}))
    assert conflict.value.problems == [("gpu_uuids.7", f"{taken[7]} is a GPU of p3-01 already")]
    assert [s.name for s in uow.inventory.servers.values()] == ["p3-01"]


async def test_the_gpu_uuids_of_a_registered_server_are_replaced_reordered_or_forgotten() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P3", 2, with_uuids=True))
    first, second = uow.inventory.server_named("p3-01"), uow.inventory.server_named("p3-02")
    reversed_ = tuple(reversed(first.gpu_uuids))
    assert (await bus.handle(SetGpuUuids(first.id, reversed_))).gpu_uuids == reversed_
    assert uow.inventory.server_named("p3-01").gpu_uuids == reversed_
    with pytest.raises(DuplicateName) as conflict:
        await bus.handle(SetGpuUuids(first.id, (*reversed_[:7], second.gpu_uuids[0])))
    with pytest.raises(InvalidInput) as too_many:
        await bus.handle(SetGpuUuids(first.id, (*reversed_, gpu_uuids("other")[0])))
    with pytest.raises(NotFound):
        await bus.handle(SetGpuUuids(uuid4(), ()))
    assert [f for f, _ in conflict.value.problems + too_many.value.problems] == ["gpu_uuids.7", "gpu_uuids"]
    assert uow.inventory.server_named("p3-01").gpu_uuids == reversed_
    assert (await bus.handle(SetGpuUuids(first.id, ()))).gpu_uuids == ()
    await bus.handle(SetGpuUuids(second.id, gpu_uuids("p3-01")))  # forgotten by p3-01: free for another server
    assert uow.inventory.server_named("p3-02").gpu_uuids == gpu_uuids("p3-01")
    assert uow.published == []
