"""Allocation's worker on the real broker: scores, utilization drops and withdrawals in, outcomes out."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from allocation.domain.model import PROGRAM_ZONE
from contracts import (
    ApplicationScored,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    Event,
    ReclaimWaived,
    ResourceAllocated,
    ResourceReclaimed,
    UtilizationDropped,
)
from support.auth import OPERATOR
from support.stack import Stack, eventually

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
Publish = Callable[[Event], Awaitable[None]]
Published = Callable[..., Awaitable[list[Event]]]
JAN_15 = datetime(2027, 1, 15, tzinfo=UTC)

# the outbox rows the tests here are about: the seeded CSPs' announcements (CspRegistered) are test_inventory_api's
NOT_ANNOUNCED = "type <> 'allocation.csp_registered.v1'"


async def capacity(api: httpx.AsyncClient, at: datetime) -> tuple[int, int, int]:
    params = {"gpu_model": "H100", "at": at.isoformat()}
    body = (await api.get("/pools/P3/capacity", params=params, headers=OPERATOR)).json()
    return body["total_gpus"], body["allocated_gpus"], body["free_gpus"]


async def allocation_of(api: httpx.AsyncClient, application_id: uuid.UUID) -> dict[str, Any] | None:
    found = (await api.get("/allocations", params={"application_id": str(application_id)}, headers=OPERATOR)).json()
    return found[0] if found else None


def utilization_dropped(allocation: dict[str, Any], level: str, window_end: datetime) -> UtilizationDropped:
    return UtilizationDropped(application_id=allocation["application_id"], allocation_id=allocation["id"],
                              level=level, utilization_pct=12.0, threshold_pct=30.0,
                              window_start=datetime(2027, 1, 1, tzinfo=UTC), window_end=window_end)


async def test_a_scored_p3_application_gets_concrete_gpus_and_the_pool_shrinks(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        published: Published) -> None:
    event: ApplicationScored = an_application_scored(gpus_requested=4)
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)
        await publish(event)
        placed = await eventually(lambda: allocation_of(api, event.application_id), what="the allocation")
        assert await capacity(api, JAN_15) == (32, 4, 28)
        assert await capacity(api, datetime(2027, 3, 1, tzinfo=UTC)) == (32, 0, 32)  # the period has ended
        [allocated] = await published()
        csps = {c["name"]: c["id"] for c in (await api.get("/csps", headers=OPERATOR)).json()}
    assert isinstance(allocated, ResourceAllocated)
    assert (allocated.allocation_id, allocated.gpus, allocated.program) == (uuid.UUID(placed["id"]), 4, "P3")
    assert [(s.server_name, s.csp, s.gpu_index) for s in allocated.slots] == [
        ("p3-gov-01", "gamma-cloud", i) for i in range(4)]
    # each GPU names its CSP by the id a CSP's token carries, too
    assert {str(s.csp_id) for s in allocated.slots} == {csps["gamma-cloud"]}
    assert (allocated.starts_at, allocated.ends_at) == (datetime(2026, 12, 1, tzinfo=PROGRAM_ZONE),
                                                        datetime(2027, 3, 1, tzinfo=PROGRAM_ZONE))
    assert [s["gpu_index"] for s in placed["slots"]] == [0, 1, 2, 3] and placed["status"] == "active"


async def test_the_gpus_of_a_server_with_uuids_carry_them_in_the_allocation_and_its_event(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        published: Published) -> None:
    event: ApplicationScored = an_application_scored(gpus_requested=4)
    gpu_uuids = [f"GPU-5d5e7a9c-1b2f-4c3d-9e8f-{i:012x}" for i in range(8)]
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)
        first = next(s for s in (await api.get("/servers", headers=OPERATOR)).json() if s["name"] == "p3-gov-01")
        response = await api.put(f"/servers/{first['id']}/gpu-uuids", json={"gpu_uuids": gpu_uuids},
                                 headers=OPERATOR)
        assert response.status_code == 200, response.text
        await publish(event)
        placed = await eventually(lambda: allocation_of(api, event.application_id), what="the allocation")
        [allocated] = await published()
    assert isinstance(allocated, ResourceAllocated)
    assert [(s.server_name, s.gpu_index, s.gpu_uuid) for s in allocated.slots] == [
        ("p3-gov-01", i, gpu_uuids[i]) for i in range(4)]
    assert [s["gpu_uuid"] for s in placed["slots"]] == gpu_uuids[:4]


async def test_a_waived_reclaim_is_published_for_telemetry_and_intake(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        published: Published, query: Query) -> None:
    event: ApplicationScored = an_application_scored(gpus_requested=8)
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)
        await publish(event)
        placed = await eventually(lambda: allocation_of(api, event.application_id), what="the allocation")
        waived = await api.post(f"/allocations/{placed['id']}/waive", headers=OPERATOR)
        events = await published(at_least=2)
    assert waived.status_code == 200
    assert [type(e) for e in events] == [ResourceAllocated, ReclaimWaived]
    waiver = events[1]
    assert isinstance(waiver, ReclaimWaived)
    assert (str(waiver.application_id), str(waiver.allocation_id)) == (placed["application_id"], placed["id"])
    assert waiver.waived_at == datetime.fromisoformat(waived.json()["waived_at"])
    written = await query(f"SELECT type FROM allocation.outbox WHERE {NOT_ANNOUNCED} ORDER BY seq")
    assert [r["type"] for r in written] == ["allocation.resource_allocated.v1", "allocation.reclaim_waived.v1"]


async def test_a_reclaim_call_from_telemetry_frees_the_gpus_from_the_window_end(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        published: Published) -> None:
    event: ApplicationScored = an_application_scored(gpus_requested=8)
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)
        await publish(event)
        placed = await eventually(lambda: allocation_of(api, event.application_id), what="the allocation")
        await publish(utilization_dropped(placed, "warning", JAN_15 - timedelta(days=7)))
        await publish(utilization_dropped(placed, "reclaim", JAN_15))

        async def reclaimed() -> dict[str, Any] | None:
            found = await allocation_of(api, event.application_id)
            return found if found and found["status"] == "reclaimed" else None

        await eventually(reclaimed, what="the reclaim")
        assert await capacity(api, datetime(2027, 1, 20, tzinfo=UTC)) == (32, 0, 32)
        assert await capacity(api, datetime(2027, 1, 10, tzinfo=UTC)) == (32, 8, 24)  # history is kept
        events = await published(at_least=2)
    assert [type(e) for e in events] == [ResourceAllocated, ResourceReclaimed]
    reclaim = events[1]
    assert isinstance(reclaim, ResourceReclaimed)
    assert (reclaim.reason, reclaim.gpus, reclaim.reclaimed_at) == ("low_utilization", 8, JAN_15)
    assert str(reclaim.allocation_id) == placed["id"]


async def test_a_redelivered_scored_event_allocates_once(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        query: Query) -> None:
    event: ApplicationScored = an_application_scored()
    rescored = event.model_copy(update={"id": uuid.uuid4(), "score": 90.0})
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)
        for record in (event, event, rescored):  # a redelivery, then a second score for the same application
            await publish(record)

        async def rescored_seen() -> bool:  # same key, same partition: the earlier records came first
            return bool(await query("SELECT 1 FROM allocation.inbox WHERE event_id = $1", rescored.id))

        await eventually(rescored_seen, what="the second score")
    assert len(await query("SELECT 1 FROM allocation.allocation")) == 1
    assert len(await query("SELECT 1 FROM allocation.allocation_gpu")) == 4
    assert [r["type"] for r in await query(f"SELECT type FROM allocation.outbox WHERE {NOT_ANNOUNCED}")] == [
        "allocation.resource_allocated.v1"]


async def test_a_request_that_fits_nowhere_is_waitlisted_and_a_round_application_only_recorded(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        published: Published, query: Query) -> None:
    too_big: ApplicationScored = an_application_scored(gpus_requested=40)
    p1: ApplicationScored = an_application_scored(program="P1", call_id=uuid.uuid4(), gpus_requested=16)
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)
        await publish(p1)
        await publish(too_big)
        [waitlisted] = await published()
        await eventually(lambda: query("SELECT 1 FROM allocation.round_candidate"), what="the candidate")
        line = (await api.get("/waitlist", params={"program": "P3"}, headers=OPERATOR)).json()
    assert isinstance(waitlisted, ApplicationWaitlisted)
    assert waitlisted.application_id == too_big.application_id
    assert waitlisted.reason.startswith("40 H100 GPUs requested, 32 free in pool P3")
    assert [(e["application_id"], e["gpus"]) for e in line] == [(str(too_big.application_id), 40)]
    assert len(await query("SELECT 1 FROM allocation.allocation")) == 0
    assert len(await query(f"SELECT 1 FROM allocation.outbox WHERE {NOT_ANNOUNCED}")) == 1


async def test_a_warning_is_noted_and_a_withdrawal_releases_the_gpus(
        stack: Stack, seed_p3_via_api: Any, an_application_scored: Any, publish: Publish,
        published: Published) -> None:
    event: ApplicationScored = an_application_scored()
    async with stack.api("allocation") as api, stack.worker("allocation"):
        await seed_p3_via_api(api)

        async def allocation_where(predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
            found = await allocation_of(api, event.application_id)
            return found if found and predicate(found) else None

        await publish(event)
        placed = await eventually(lambda: allocation_where(lambda a: True), what="the allocation")
        await publish(utilization_dropped(placed, "warning", JAN_15))
        warned = await eventually(lambda: allocation_where(lambda a: a["warned_at"] is not None),
                                  what="the warning")
        # telemetry and intake are different topics: the withdrawal is sent once the warning is in
        await publish(ApplicationWithdrawn(application_id=event.application_id, reason="plans changed"))
        final = await eventually(lambda: allocation_where(lambda a: a["status"] == "released"),
                                 what="the release")
        events = await published(at_least=2)
    assert warned["status"] == "active"
    assert final["end_reason"] == "withdrawn"
    assert isinstance(events[-1], ResourceReclaimed) and events[-1].reason == "withdrawn"
