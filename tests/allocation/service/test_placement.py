"""Placing P3 requests, warnings, waivers, reclaims and withdrawals on the in-memory fakes."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest

from allocation.domain.commands import (
    ReclaimResource,
    RecordRecovery,
    WaiveReclaim,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.errors import AllocationEnded, AllocationNotFound
from allocation.domain.model import PROGRAM_ZONE, Status
from contracts import (
    ApplicationWaitlisted,
    EligibilityRecheckRequested,
    ReclaimWaived,
    ResourceAllocated,
    ResourceReclaimed,
)
from support.clock import ManualClock

from .fakes import request, seeded, servers

JAN_1, FEB_1, APR_1 = (datetime(2027, m, 1, tzinfo=PROGRAM_ZONE) for m in (1, 2, 4))  # days start in Korea


async def test_requests_go_to_the_fullest_server_that_fits_and_are_published_with_their_gpus() -> None:
    uow, bus = await seeded(ManualClock())
    first, second, third = [await bus.handle(request(n)) for n in (6, 2, 3)]
    assert [(s.server_name, s.gpu_index) for s in first.slots] == [("p3-01", i) for i in range(6)]
    assert [(s.server_name, s.gpu_index) for s in second.slots] == [("p3-01", 6), ("p3-01", 7)]
    assert {s.server_name for s in third.slots} == {"p3-02"}
    published = uow.outbox.of_type(ResourceAllocated)
    assert [(e.allocation_id, e.gpus, len(e.slots)) for e in published] == [
        (first.id, 6, 6), (second.id, 2, 2), (third.id, 3, 3)]
    assert (first.starts_at, first.ends_at, published[0].planned_gpu_hours_per_month) == (JAN_1, APR_1, 1500)
    # each GPU names its CSP by the id a CSP's token carries, beside its name
    gamma = uow.inventory.csps["gamma-cloud"]
    assert {(s.csp, s.csp_id) for e in published for s in e.slots} == {(gamma.name, gamma.id)}


async def test_gpus_busy_in_another_period_are_free_for_this_one() -> None:
    uow, bus = await seeded(ManualClock())
    assert await bus.handle(request(32, start=date(2027, 1, 1), end=date(2027, 1, 31))) is not None
    assert await bus.handle(request(32, start=date(2027, 2, 1), end=date(2027, 2, 28))) is not None
    assert await bus.handle(request(1, start=date(2027, 1, 31), end=date(2027, 2, 1))) is None
    assert [type(e).__name__ for e in uow.published] == ["ResourceAllocated", "ResourceAllocated",
                                                         "ApplicationWaitlisted"]


async def test_a_request_that_fits_nowhere_waits_with_the_reason_and_since_when() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock)
    await bus.handle(request(30))
    too_big = request(4, months=2)
    assert await bus.handle(too_big) is None
    entry = uow.waiting.waitlisted[too_big.application_id]
    assert (entry.reason, entry.created_at, entry.min_days, entry.offer_id) == (
        "4 H100 GPUs requested, 2 free in pool P3 for 2027-01-01..2027-03-31", clock.now, 60, None)
    (waitlisted,) = uow.outbox.of_type(ApplicationWaitlisted)
    assert (waitlisted.application_id, waitlisted.reason) == (too_big.application_id, entry.reason)


async def test_a_score_of_a_placed_withdrawn_or_unplaceable_application_places_nothing() -> None:
    uow, bus = await seeded(ManualClock())
    placed, withdrawn = request(4), request(4)
    backwards = request(4, start=date(2027, 2, 1), end=date(2027, 1, 1))
    await bus.handle(placed)
    await bus.handle(WithdrawApplication(withdrawn.application_id, JAN_1))
    assert [await bus.handle(cmd) for cmd in (placed, withdrawn, backwards)] == [None, None, None]
    assert len(uow.allocations.by_id) == 1 and uow.waiting.waitlisted == {}
    assert len(uow.published) == 1


async def test_a_warning_is_recorded_but_not_on_an_ended_or_unknown_allocation() -> None:
    uow, bus = await seeded(ManualClock())
    active, ended = await bus.handle(request(4)), await bus.handle(request(4))
    await bus.handle(ReclaimResource(ended.id, "operator", FEB_1))
    for allocation_id in (active.id, ended.id, uuid4()):
        await bus.handle(WarnAllocation(allocation_id, JAN_1))
    assert (uow.allocations[active.id].warned_at, uow.allocations[ended.id].warned_at) == (JAN_1, None)


async def test_a_waiver_is_recorded_and_refused_for_an_ended_or_unknown_allocation() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock)
    active, ended = await bus.handle(request(4)), await bus.handle(request(4))
    await bus.handle(ReclaimResource(ended.id, "operator", FEB_1))
    waived = await bus.handle(WaiveReclaim(active.id, clock.now))
    with pytest.raises(AllocationEnded):
        await bus.handle(WaiveReclaim(ended.id, clock.now))
    with pytest.raises(AllocationNotFound):
        await bus.handle(WaiveReclaim(uuid4(), clock.now))
    assert waived.waived_at == uow.allocations[active.id].waived_at == clock.now
    assert uow.allocations[ended.id].waived_at is None


async def test_a_waiver_is_published_in_its_unit_of_work_for_telemetry_and_the_partner() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock)
    active, ended = await bus.handle(request(4)), await bus.handle(request(4))
    await bus.handle(ReclaimResource(ended.id, "operator", FEB_1))
    commits = uow.commits
    await bus.handle(WaiveReclaim(active.id, clock.now))
    with pytest.raises(AllocationEnded):
        await bus.handle(WaiveReclaim(ended.id, clock.now))
    (waived,) = uow.outbox.of_type(ReclaimWaived)
    assert (waived.application_id, waived.allocation_id, waived.waived_at) == (
        active.application_id, active.id, clock.now)
    assert uow.commits == commits + 1  # the waiver and its event in one commit; the refused one publishes nothing


async def test_a_reclaim_frees_the_gpus_from_its_time_on_and_says_so() -> None:
    uow, bus = await seeded(ManualClock())
    whole_pool = await bus.handle(request(32))
    reclaimed = await bus.handle(ReclaimResource(whole_pool.id, "off_purpose", FEB_1))
    assert (reclaimed.status, reclaimed.ended_at) == (Status.RECLAIMED, FEB_1)
    assert uow.allocations[whole_pool.id].status is Status.RECLAIMED
    (event,) = uow.outbox.of_type(ResourceReclaimed)
    assert (event.allocation_id, event.gpus, event.reason, event.reclaimed_at) == (
        whole_pool.id, 32, "off_purpose", FEB_1)
    assert await bus.handle(request(32, start=date(2027, 2, 1))) is not None
    assert await bus.handle(request(1, start=date(2027, 1, 31), end=date(2027, 1, 31))) is None


async def test_a_reclaim_offers_the_freed_gpus_to_the_waiting_line_in_rank_order() -> None:
    uow, bus = await seeded(ManualClock())
    holder = await bus.handle(request(32))
    small, big = request(8, score=70), request(16, score=90)
    await bus.handle(small)
    await bus.handle(big)
    await bus.handle(ReclaimResource(holder.id, "operator", JAN_1))
    rechecks = uow.outbox.of_type(EligibilityRecheckRequested)
    assert [r.application_id for r in rechecks] == [big.application_id, small.application_id]
    held = {a.application_id: a.gpus for a in uow.allocations.with_status(Status.OFFERED)}
    assert held == {big.application_id: 16, small.application_id: 8}


async def test_a_second_operator_reclaim_is_a_conflict_and_an_unknown_allocation_is_not_found() -> None:
    uow, bus = await seeded(ManualClock())
    placed = await bus.handle(request(4))
    await bus.handle(ReclaimResource(placed.id, "operator", FEB_1))
    with pytest.raises(AllocationEnded):
        await bus.handle(ReclaimResource(placed.id, "off_purpose", FEB_1 + timedelta(days=1)))
    with pytest.raises(AllocationNotFound):
        await bus.handle(ReclaimResource(uuid4(), "operator", FEB_1))
    assert (uow.allocations[placed.id].end_reason, len(uow.outbox.of_type(ResourceReclaimed))) == ("operator", 1)


async def test_telemetrys_reclaim_spares_an_ended_waived_or_unknown_allocation_until_a_new_warning() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock)
    placed, ended = await bus.handle(request(8)), await bus.handle(request(8))
    await bus.handle(ReclaimResource(ended.id, "operator", JAN_1))
    await bus.handle(WarnAllocation(placed.id, clock.now))
    await bus.handle(WaiveReclaim(placed.id, clock.advance(hours=1)))
    for allocation_id in (placed.id, ended.id, uuid4()):
        await bus.handle(ReclaimResource(allocation_id, "low_utilization", JAN_1, if_active=True))
    assert uow.allocations[placed.id].status is Status.ACTIVE
    assert uow.allocations[ended.id].end_reason == "operator"
    await bus.handle(WarnAllocation(placed.id, clock.advance(days=1)))       # the ladder is re-armed
    await bus.handle(ReclaimResource(placed.id, "low_utilization", FEB_1, if_active=True))
    assert (uow.allocations[placed.id].status, uow.allocations[placed.id].ended_at) == (Status.RECLAIMED, FEB_1)


async def test_a_recovery_clears_the_warning_so_telemetrys_reclaim_is_not_carried_out_until_a_new_warning() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock)
    placed = await bus.handle(request(8))
    warned_at = clock.now
    await bus.handle(WarnAllocation(placed.id, warned_at))
    await bus.handle(RecordRecovery(placed.id, warned_at - timedelta(hours=1)))  # older than the warning: stale
    assert uow.allocations[placed.id].warned_at == warned_at
    await bus.handle(RecordRecovery(placed.id, clock.advance(days=2)))
    assert uow.allocations[placed.id].warned_at is None
    await bus.handle(ReclaimResource(placed.id, "low_utilization", FEB_1, if_active=True))
    assert (uow.allocations[placed.id].status, uow.outbox.of_type(ResourceReclaimed)) == (Status.ACTIVE, [])
    await bus.handle(WarnAllocation(placed.id, clock.advance(days=1)))       # a new drop: a new ladder
    await bus.handle(ReclaimResource(placed.id, "low_utilization", FEB_1, if_active=True))
    assert uow.allocations[placed.id].status is Status.RECLAIMED
    await bus.handle(RecordRecovery(uuid4(), clock.now))                     # unknown: logged, nothing else


async def test_a_withdrawal_releases_the_gpus_and_takes_the_application_out_of_every_line() -> None:
    uow, bus = await seeded(ManualClock())
    placed, too_big = await bus.handle(request(4)), request(40)
    await bus.handle(too_big)
    await bus.handle(WithdrawApplication(placed.application_id, FEB_1))
    await bus.handle(WithdrawApplication(too_big.application_id, FEB_1))
    stored = uow.allocations[placed.id]
    assert (stored.status, stored.ended_at, stored.end_reason) == (Status.RELEASED, FEB_1, "withdrawn")
    assert uow.waiting.waitlisted == {}
    assert await uow.waiting.excluded([placed.application_id, too_big.application_id]) == {
        placed.application_id, too_big.application_id}
    assert [e.reason for e in uow.outbox.of_type(ResourceReclaimed)] == ["withdrawn"]


async def test_a_p1_request_is_placed_on_at_most_two_servers() -> None:
    _uow, bus = await seeded(ManualClock(), *servers("P1", 3, gpus=4))
    spread = await bus.handle(replace(request(12), program="P1"))
    fits = await bus.handle(replace(request(8), program="P1"))
    assert spread is None and {s.server_name for s in fits.slots} == {"p1-01", "p1-02"}


async def test_a_waiting_application_scored_again_to_a_size_that_fits_is_placed_and_leaves_the_line() -> None:
    uow, bus = await seeded(ManualClock())
    too_big = request(40)
    await bus.handle(too_big)
    placed = await bus.handle(replace(too_big, gpus=8))
    assert placed.gpus == 8 and uow.waiting.waitlisted == {}
