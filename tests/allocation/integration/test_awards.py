"""The re-check at award on the real database and broker: a round's selected are held and re-checked; evaluation's
answer allocates them, or lets their GPUs go to the next in line and says so in the round's decisions."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.bootstrap import bootstrap
from allocation.config import SelectionSettings
from allocation.domain.commands import AddRoundCandidate, ExpireOffers, RegisterCsp, RegisterServer, SelectRound
from contracts import (
    ApplicationRejected,
    EligibilityConfirmed,
    EligibilityRecheckRequested,
    Event,
    ResourceAllocated,
)
from servicekit.runtime import Runtime
from support.auth import OPERATOR
from support.stack import Stack, eventually

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
Publish = Callable[[Event], Awaitable[None]]
Published = Callable[..., Awaitable[list[Event]]]


async def a_selected_round(bus: Any) -> tuple[uuid.UUID, list[AddRoundCandidate]]:
    """Two whole H200 servers of P2 for three one-server applications (scores 90, 80, 70): two selected, one waits."""
    await bus.handle(RegisterCsp(name="beta-cloud"))
    for n in (1, 2):
        await bus.handle(RegisterServer(csp="beta-cloud", name=f"p2-{n}", region="Daejeon", gpu_model="H200", gpus=8,
                                        pool="P2"))
    call = uuid.uuid4()
    line = [AddRoundCandidate(uuid.uuid4(), "P2", call, score, "general", f"Institute {score}", 8, "H200",
                              date(2027, 3, 1), date(2027, 8, 31), 3000) for score in (90, 80, 70)]
    for c in line:
        await bus.handle(c)
    await bus.handle(SelectRound(call, "P2", tuple(c.application_id for c in line), (), datetime.now(UTC)))
    return call, line


async def awards(query: Query) -> dict[uuid.UUID, asyncpg.Record]:
    """The pending award of each application, with its hold's status."""
    rows = await query("SELECT o.id, o.application_id, o.allocation_id, a.status AS hold FROM allocation.offer o "
                       "JOIN allocation.allocation a ON a.id = o.allocation_id "
                       "WHERE o.kind = 'award' AND o.state = 'awaiting_recheck'")
    return {r["application_id"]: r for r in rows}


async def test_through_the_broker_a_confirmed_award_is_allocated_and_a_rejected_one_goes_to_the_next_in_line(
        stack: Stack, runtime: Runtime[SqlAllocationUnitOfWork], query: Query, publish: Publish,
        published: Published) -> None:
    call, (first, second, third) = await a_selected_round(runtime.bus)
    held = await awards(query)
    assert set(held) == {first.application_id, second.application_id}
    assert {r["hold"] for r in held.values()} == {"offered"}
    async with stack.worker("allocation"), stack.api("allocation") as api:
        await publish(EligibilityConfirmed(application_id=second.application_id,
                                           offer_id=held[second.application_id]["id"], policy_version="2026.1"))
        await publish(ApplicationRejected(application_id=first.application_id, program="P2",
                                          failed_rules=["company_size: no longer small"], policy_version="2026.1",
                                          offer_id=held[first.application_id]["id"]))

        async def settled() -> list[Event] | None:
            events = await published(at_least=1)
            rechecks = {e.application_id for e in events if isinstance(e, EligibilityRecheckRequested)}
            done = any(isinstance(e, ResourceAllocated) for e in events) and third.application_id in rechecks
            return events if done else None

        events = await eventually(settled, what="the award allocated and the next in line asked for")
        body = (await api.get(f"/rounds/{call}", headers=OPERATOR)).json()
        offers = (await api.get("/offers", headers=OPERATOR)).json()
    (allocated,) = [e for e in events if isinstance(e, ResourceAllocated)]
    assert (allocated.application_id, allocated.allocation_id) == (second.application_id,
                                                                   held[second.application_id]["allocation_id"])
    decisions = {d["application_id"]: d for d in body["decisions"]}
    rejected = decisions[str(first.application_id)]
    assert (rejected["selected"], rejected["basis"], rejected["allocation_id"]) == (False, "rejected_at_award", None)
    assert "ineligible at award: company_size: no longer small" in rejected["reason"]
    assert decisions[str(second.application_id)]["selected"] is True
    kinds = {(o["application_id"], o["kind"], o["state"]) for o in offers}
    assert kinds == {(str(first.application_id), "award", "ineligible"),
                     (str(second.application_id), "award", "accepted"),
                     (str(third.application_id), "waitlist", "awaiting_recheck")}
    statuses = {r["application_id"]: r["status"] for r in await query(
        "SELECT application_id, status FROM allocation.allocation")}
    assert statuses == {first.application_id: "lapsed", second.application_id: "active",
                        third.application_id: "offered"}


async def test_an_unanswered_award_recheck_is_asked_again_on_the_same_gpus(
        runtime: Runtime[SqlAllocationUnitOfWork], query: Query, confirm_awards: Callable[[Any], Awaitable[int]]
) -> None:
    _call, (first, second, _third) = await a_selected_round(runtime.bus)
    before = await awards(query)
    await runtime.bus.handle(ExpireOffers(datetime.now(UTC) + timedelta(minutes=30)))
    assert await awards(query) == before                             # not yet
    await runtime.bus.handle(ExpireOffers(datetime.now(UTC) + timedelta(hours=2)))
    again = await awards(query)
    for a in (first.application_id, second.application_id):
        assert again[a]["id"] != before[a]["id"]
        assert (again[a]["allocation_id"], again[a]["hold"]) == (before[a]["allocation_id"], "offered")
    expired = await query("SELECT state FROM allocation.offer WHERE id = ANY($1::uuid[])",
                          [r["id"] for r in before.values()])
    assert {r["state"] for r in expired} == {"expired"}
    assert await confirm_awards(runtime.bus) == 2
    active = await query("SELECT count(*) AS n FROM allocation.allocation WHERE status = 'active'")
    assert active[0]["n"] == 2


async def test_with_the_recheck_at_award_off_the_selected_are_allocated_at_once(stack: Stack, query: Query) -> None:
    runtime = bootstrap(stack.settings("allocation", selection=SelectionSettings(recheck_at_award=False)))
    try:
        await a_selected_round(runtime.bus)
    finally:
        await runtime.aclose()
    assert await query("SELECT * FROM allocation.offer") == []
    statuses = [r["status"] for r in await query("SELECT status FROM allocation.allocation")]
    assert statuses == ["active", "active"]
    allocated = await query("SELECT count(*) AS n FROM allocation.outbox WHERE type LIKE '%resource_allocated%'")
    assert allocated[0]["n"] == 2
