"""Freed capacity offered to the waitlist in rank order, on the real database: hold, re-check, offer, answer."""
from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from allocation import demo
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.domain.commands import (
    AcceptOffer,
    AddRoundCandidate,
    AllocateGpus,
    ConfirmEligibility,
    DeclineOffer,
    ExcludeApplication,
    ExpireOffers,
    OpenWindow,
    ReclaimResource,
    RegisterCsp,
    RegisterServer,
    SeedInventory,
    SelectRound,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.model import PROGRAM_ZONE, Allocation
from servicekit.runtime import Runtime
from support.auth import OPERATOR
from support.stack import Stack

Query = Callable[..., Awaitable[list[asyncpg.Record]]]


def request(gpus: int, score: float = 80.0, start: date = date(2026, 12, 1), end: date = date(2027, 2, 28),
            months: int | None = None) -> AllocateGpus:
    return AllocateGpus(application_id=uuid.uuid4(), program="P3", score=score, gpus=gpus, gpu_model="H100",
                        period_start=start, period_end=end, planned_gpu_hours_per_month=1500,
                        acceptable_window_months=months)


@pytest.fixture
async def bus(runtime: Runtime[SqlAllocationUnitOfWork]) -> Any:
    await runtime.bus.handle(SeedInventory(csps=demo.CSPS, servers=demo.P3_SERVERS))
    return runtime.bus


async def outbox(query: Query, kind: str) -> list[dict[str, Any]]:
    rows = await query("SELECT payload FROM allocation.outbox WHERE type LIKE $1 ORDER BY seq", f"%.{kind}.%")
    return [json.loads(r["payload"]) for r in rows]


async def offers(query: Query) -> dict[str, str]:
    return {str(r["application_id"]): r["state"] for r in await query("SELECT * FROM allocation.offer")}


async def a_full_pool_and_a_line(bus: Any) -> tuple[Allocation, AllocateGpus, AllocateGpus]:
    """All 32 GPUs held by one allocation; then 8 GPUs (score 70) and 16 GPUs (score 90) wait."""
    holder = await bus.handle(request(32))
    small, big = request(8, score=70), request(16, score=90)
    await bus.handle(small)
    await bus.handle(big)
    return holder, small, big


async def test_a_withdrawal_holds_gpus_for_the_line_in_rank_order_and_asks_for_a_recheck(
        bus: Any, query: Query) -> None:
    holder, small, big = await a_full_pool_and_a_line(bus)
    await bus.handle(WithdrawApplication(holder.application_id, datetime.now(UTC)))
    rechecks = await outbox(query, "eligibility_recheck_requested")
    assert [r["application_id"] for r in rechecks] == [str(big.application_id), str(small.application_id)]
    held = await query("SELECT application_id, gpus, status FROM allocation.allocation WHERE status = 'offered'")
    assert {(r["application_id"], r["gpus"]) for r in held} == {(big.application_id, 16), (small.application_id, 8)}
    assert await outbox(query, "offer_made") == []  # nothing reaches the partner before the re-check


async def test_a_confirmed_offer_goes_out_and_its_acceptance_makes_the_allocation(bus: Any, query: Query) -> None:
    holder, small, big = await a_full_pool_and_a_line(bus)
    await bus.handle(WithdrawApplication(holder.application_id, datetime.now(UTC)))
    offer_id = (await outbox(query, "eligibility_recheck_requested"))[0]["offer_id"]
    await bus.handle(ConfirmEligibility(big.application_id, uuid.UUID(offer_id), datetime.now(UTC)))
    (made,) = await outbox(query, "offer_made")
    assert (made["gpus"], made["application_id"]) == (16, str(big.application_id))
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(hours=47) < expires - datetime.now(UTC) <= timedelta(hours=48)

    await bus.handle(AcceptOffer(big.application_id, uuid.UUID(offer_id), datetime.now(UTC)))
    allocated = [a for a in await outbox(query, "resource_allocated") if a["application_id"] == made["application_id"]]
    assert len(allocated) == 1 and allocated[0]["planned_gpu_hours_per_month"] == 1500
    assert (await offers(query))[str(big.application_id)] == "accepted"
    waiting = [r["application_id"] for r in await query("SELECT application_id FROM allocation.waitlist")]
    assert waiting == [small.application_id]


async def test_a_declined_or_ineligible_offer_goes_to_the_next_in_line(bus: Any, query: Query) -> None:
    holder = await bus.handle(request(16))
    await bus.handle(request(16))  # fills the pool
    first, second = request(16, score=90), request(16, score=60)
    await bus.handle(first)
    await bus.handle(second)
    await bus.handle(ReclaimResource(holder.id, "off_purpose", datetime.now(UTC)))
    (recheck,) = await outbox(query, "eligibility_recheck_requested")
    await bus.handle(ExcludeApplication(first.application_id, "company_size: no longer small", datetime.now(UTC),
                                        uuid.UUID(recheck["offer_id"])))
    rechecks = await outbox(query, "eligibility_recheck_requested")
    assert [r["application_id"] for r in rechecks] == [str(first.application_id), str(second.application_id)]
    await bus.handle(ConfirmEligibility(second.application_id, uuid.UUID(rechecks[1]["offer_id"]), datetime.now(UTC)))
    await bus.handle(DeclineOffer(second.application_id, uuid.UUID(rechecks[1]["offer_id"]), datetime.now(UTC)))
    assert await offers(query) == {str(first.application_id): "ineligible", str(second.application_id): "declined"}
    assert await query("SELECT * FROM allocation.waitlist") == []
    lapsed = await query("SELECT count(*) AS n FROM allocation.allocation_gpu g JOIN allocation.allocation a"
                         " ON a.id = g.allocation_id WHERE a.status = 'lapsed' AND NOT isempty(g.during)")
    assert lapsed[0]["n"] == 0  # a lapsed hold holds no GPU at any time


async def test_an_unanswered_offer_expires_and_a_late_acceptance_changes_nothing(bus: Any, query: Query) -> None:
    holder, _small, big = await a_full_pool_and_a_line(bus)
    await bus.handle(WithdrawApplication(holder.application_id, datetime.now(UTC)))
    offer_id = uuid.UUID((await outbox(query, "eligibility_recheck_requested"))[0]["offer_id"])
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, datetime.now(UTC)))
    assert await bus.handle(ExpireOffers(datetime.now(UTC))) == 0
    assert await bus.handle(ExpireOffers(datetime.now(UTC) + timedelta(hours=49))) == 1
    (expired,) = await outbox(query, "offer_expired")
    assert expired["offer_id"] == str(offer_id)
    await bus.handle(AcceptOffer(big.application_id, offer_id, datetime.now(UTC) + timedelta(hours=50)))
    assert (await offers(query))[str(big.application_id)] == "expired"
    assert [a["application_id"] for a in await outbox(query, "resource_allocated")] == [str(holder.application_id)]


async def test_an_idle_window_is_offered_to_a_request_that_accepts_a_short_window(
        bus: Any, query: Query, runtime: Runtime[SqlAllocationUnitOfWork]) -> None:
    """A government server serving its national project is lent to P3 for six weeks: the waiting request that
    accepts one month gets those weeks, the one that wants its whole period keeps waiting."""
    await bus.handle(request(32))  # the pool is full
    flexible, rigid = request(8, score=70, months=1), request(8, score=90)
    await bus.handle(flexible)
    await bus.handle(rigid)
    await bus.handle(RegisterServer(csp="gamma-cloud", name="gov-national-01", region="Daejeon", gpu_model="H100",
                                    gpus=8, pool="P3", available_from=date(2026, 1, 1),
                                    available_until=date(2026, 1, 31)))
    server = (await query("SELECT id FROM allocation.server WHERE name = 'gov-national-01'"))[0]["id"]
    await bus.handle(OpenWindow(server, "P3", date(2027, 1, 1), date(2027, 2, 11), "national project starts late"))
    held = await query("SELECT application_id, starts_at, ends_at FROM allocation.allocation WHERE status = 'offered'")
    assert [tuple(r) for r in held] == [(flexible.application_id, datetime(2027, 1, 1, tzinfo=PROGRAM_ZONE),
                                         datetime(2027, 2, 12, tzinfo=PROGRAM_ZONE))]


async def test_a_window_overlapping_another_of_the_same_server_is_a_conflict(stack: Stack, bus: Any,
                                                                             query: Query) -> None:
    server = (await query("SELECT id FROM allocation.server WHERE name = 'p3-gov-01'"))[0]["id"]
    async with stack.api("allocation") as api:
        clash = await api.post(f"/servers/{server}/windows", json={"pool": "P1", "starts_on": "2027-01-01"},
                               headers=OPERATOR)
        backwards = await api.post(f"/servers/{server}/windows",
                                   json={"pool": "P1", "starts_on": "2027-01-02", "ends_on": "2027-01-01"},
                                   headers=OPERATOR)
        listed = (await api.get(f"/servers/{server}/windows", headers=OPERATOR)).json()
    assert clash.status_code == 409 and "P3" in clash.json()["detail"]
    assert backwards.status_code == 422
    assert [(w["pool"], w["starts_at"], w["ends_at"]) for w in listed] == [("P3", None, None)]


async def test_daily_capacity_counts_windows_and_allocations_per_day(stack: Stack, bus: Any) -> None:
    await bus.handle(request(12, start=date(2026, 12, 2), end=date(2026, 12, 2)))
    async with stack.api("allocation") as api:
        days = (await api.get("/pools/P3/capacity/daily", params={"start": "2026-12-01", "end": "2026-12-03"},
                              headers=OPERATOR)).json()
        too_long = await api.get("/pools/P3/capacity/daily", params={"start": "2026-01-01", "end": "2027-06-01"},
                                 headers=OPERATOR)
    assert [(d["day"], d["total_gpus"], d["allocated_gpus"], d["free_gpus"]) for d in days] == [
        ("2026-12-01", 32, 0, 32), ("2026-12-02", 32, 12, 20), ("2026-12-03", 32, 0, 32)]
    assert too_long.status_code == 422 and "end" in json.dumps(too_long.json())


async def test_offers_are_listed_with_the_time_from_capacity_freed_to_offer_made(
        stack: Stack, bus: Any, query: Query) -> None:
    holder, _small, big = await a_full_pool_and_a_line(bus)
    await bus.handle(WithdrawApplication(holder.application_id, datetime.now(UTC)))
    offer_id = uuid.UUID((await outbox(query, "eligibility_recheck_requested"))[0]["offer_id"])
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, datetime.now(UTC)))
    async with stack.api("allocation") as api:
        listed = (await api.get("/offers", params={"state": "open"}, headers=OPERATOR)).json()
    assert [o["id"] for o in listed] == [str(offer_id)]
    assert 0 <= listed[0]["latency_s"] < 30


async def test_a_waived_allocation_survives_telemetrys_reclaim_until_a_new_warning(
        stack: Stack, bus: Any, query: Query) -> None:
    placed: Allocation = await bus.handle(request(8))
    jan_20, feb_1 = datetime(2027, 1, 20, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    await bus.handle(WarnAllocation(placed.id, datetime.now(UTC) - timedelta(hours=1)))
    async with stack.api("allocation") as api:
        waived = await api.post(f"/allocations/{placed.id}/waive", headers=OPERATOR)
        unknown = await api.post(f"/allocations/{uuid.uuid4()}/waive", headers=OPERATOR)
    assert waived.status_code == 200 and waived.json()["waived_at"] is not None
    assert unknown.status_code == 404
    await bus.handle(ReclaimResource(placed.id, "low_utilization", jan_20, if_active=True))
    assert [r["status"] for r in await query("SELECT status FROM allocation.allocation")] == ["active"]
    await bus.handle(WarnAllocation(placed.id, datetime.now(UTC) + timedelta(days=1)))  # the ladder is re-armed
    await bus.handle(ReclaimResource(placed.id, "low_utilization", feb_1, if_active=True))
    assert [r["status"] for r in await query("SELECT status FROM allocation.allocation")] == ["reclaimed"]


async def test_a_score_arriving_after_the_withdrawal_places_nothing(bus: Any, query: Query) -> None:
    late = request(8)
    await bus.handle(WithdrawApplication(late.application_id, datetime.now(UTC)))
    assert await bus.handle(late) is None
    assert await query("SELECT * FROM allocation.allocation") == []
    assert await query("SELECT * FROM allocation.waitlist") == []


async def test_a_round_application_waitlisted_for_capacity_is_offered_what_a_reclaim_frees(
        runtime: Runtime[SqlAllocationUnitOfWork], query: Query,
        confirm_awards: Callable[[Any], Awaitable[int]]) -> None:
    """P2 (whole servers): the round fills the pool, the runner-up waits; a reclaim frees two servers for it."""
    await runtime.bus.handle(SeedInventory(csps=demo.CSPS, servers=demo.P2_SERVERS))
    call, start, end = uuid.uuid4(), date(2027, 3, 1), date(2027, 8, 31)
    line = [AddRoundCandidate(uuid.uuid4(), "P2", call, 90 - i, "general", f"Institute {i}", 16, "H200", start,
                              end, 5000) for i in range(5)]
    for c in line:
        await runtime.bus.handle(c)
    await runtime.bus.handle(SelectRound(call, "P2", tuple(c.application_id for c in line), (), datetime.now(UTC)))
    await confirm_awards(runtime.bus)
    waiting = [r["application_id"] for r in await query("SELECT application_id FROM allocation.waitlist")]
    assert waiting == [line[4].application_id]
    first = (await query("SELECT id FROM allocation.allocation WHERE application_id = $1",
                         line[0].application_id))[0]["id"]
    await runtime.bus.handle(ReclaimResource(first, "off_purpose", datetime.now(UTC)))
    held = await query("SELECT application_id, gpus FROM allocation.allocation WHERE status = 'offered'")
    assert [tuple(r) for r in held] == [(line[4].application_id, 16)]


async def test_a_window_ends_earlier_only_when_nobody_holds_the_gpus_after_and_later_offers_what_it_adds(
        stack: Stack, runtime: Runtime[SqlAllocationUnitOfWork], query: Query) -> None:
    await runtime.bus.handle(RegisterCsp(name="gov-dc"))
    await runtime.bus.handle(RegisterServer(csp="gov-dc", name="gov-01", region="Daejeon", gpu_model="H100", gpus=8,
                                            pool="P3", available_from=date(2027, 1, 1),
                                            available_until=date(2027, 1, 31)))
    await runtime.bus.handle(request(8, start=date(2027, 1, 5), end=date(2027, 1, 20)))
    later = request(8, start=date(2027, 2, 1), end=date(2027, 3, 15))
    await runtime.bus.handle(later)  # no window covers February yet
    server = (await query("SELECT id FROM allocation.server"))[0]["id"]
    window = (await query("SELECT id FROM allocation.server_window"))[0]["id"]
    path = f"/servers/{server}/windows/{window}"
    async with stack.api("allocation") as api:
        too_early = await api.patch(path, json={"ends_on": "2027-01-10"}, headers=OPERATOR)
        shortened = await api.patch(path, json={"ends_on": "2027-01-25"}, headers=OPERATOR)
        extended = await api.patch(path, json={"ends_on": "2027-03-31"}, headers=OPERATOR)
        unknown = await api.patch(f"/servers/{server}/windows/{uuid.uuid4()}", json={"ends_on": None},
                                  headers=OPERATOR)
    assert too_early.status_code == 409 and too_early.json()["errors"][0]["field"] == "ends_on"
    # a window ends at the end of its last day in Korea: 00:00 there the day after
    assert shortened.status_code == 200
    assert datetime.fromisoformat(shortened.json()["ends_at"]) == datetime(2027, 1, 26, tzinfo=PROGRAM_ZONE)
    assert extended.status_code == 200
    assert datetime.fromisoformat(extended.json()["ends_at"]) == datetime(2027, 4, 1, tzinfo=PROGRAM_ZONE)
    assert unknown.status_code == 404
    held = await query("SELECT application_id FROM allocation.allocation WHERE status = 'offered'")
    assert [r["application_id"] for r in held] == [later.application_id]


async def test_a_recheck_left_unanswered_lets_the_hold_go_and_asks_again_without_telling_the_partner(
        bus: Any, query: Query) -> None:
    holder, small, big = await a_full_pool_and_a_line(bus)
    await bus.handle(WithdrawApplication(holder.application_id, datetime.now(UTC)))
    first = {r["application_id"]: r["offer_id"] for r in await outbox(query, "eligibility_recheck_requested")}
    assert await bus.handle(ExpireOffers(datetime.now(UTC) + timedelta(minutes=30))) == 0
    assert len(await outbox(query, "eligibility_recheck_requested")) == 2  # not yet
    await bus.handle(ExpireOffers(datetime.now(UTC) + timedelta(hours=2)))
    again = [r for r in await outbox(query, "eligibility_recheck_requested") if r["offer_id"] not in first.values()]
    assert sorted(r["application_id"] for r in again) == sorted(str(a.application_id) for a in (small, big))
    assert await outbox(query, "offer_expired") == []  # the partners never saw the first offers
    waiting = {r["application_id"]: r["offer_id"] for r in await query("SELECT * FROM allocation.waitlist")}
    assert {str(k): str(v) for k, v in waiting.items()} == {r["application_id"]: r["offer_id"] for r in again}
    states = sorted(r["status"] for r in await query("SELECT status FROM allocation.allocation"))
    assert states == ["lapsed", "lapsed", "offered", "offered", "released"]
