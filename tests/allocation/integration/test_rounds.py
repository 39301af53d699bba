"""P1/P2 rounds on the real database: selection when the round is complete, placement, waitlist, decisions.

The selected are allocated once evaluation confirms the re-check at award (`confirm_awards`; test_awards.py covers
the re-check itself)."""
from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from allocation import demo
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.domain.commands import (
    AddRoundCandidate,
    ExcludeApplication,
    SeedInventory,
    SelectRound,
    WithdrawApplication,
)
from allocation.domain.model import ProgramCode
from servicekit.runtime import Runtime
from support.auth import OPERATOR
from support.stack import Stack

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
Confirm = Callable[[Any], Awaitable[int]]
NOW = datetime(2027, 2, 20, tzinfo=UTC)


def candidate(call_id: uuid.UUID, score: float, institution: str, servers: int = 1, track: str = "general",
              program: ProgramCode = "P2", gpus: int | None = None) -> AddRoundCandidate:
    return AddRoundCandidate(
        application_id=uuid.uuid4(), program=program, call_id=call_id, score=score, track=track,
        institution=institution, gpus=gpus or servers * 8, gpu_model="H200" if program == "P2" else "H100",
        period_start=date(2027, 3, 1), period_end=date(2027, 8, 31), planned_gpu_hours_per_month=3000)


@pytest.fixture
async def bus(runtime: Runtime[SqlAllocationUnitOfWork]) -> Any:
    """The demo's P1 (8 x 8 H100) and P2 (8 x 8 H200) pools."""
    await runtime.bus.handle(SeedInventory(csps=demo.CSPS, servers=demo.P1_SERVERS + demo.P2_SERVERS))
    return runtime.bus


async def outbox(query: Query, kind: str) -> list[dict[str, Any]]:
    rows = await query("SELECT payload FROM allocation.outbox WHERE type LIKE $1 ORDER BY seq", f"%.{kind}.%")
    return [json.loads(r["payload"]) for r in rows]


async def test_a_p2_round_reserves_early_career_first_balances_institutions_and_grants_whole_servers(
        bus: Any, query: Query, confirm_awards: Confirm) -> None:
    """64 GPUs: the reserve is 16 (30% rounded down to servers), the cap 8 GPUs (one server) per institution while
    others wait. Low-scoring early-career researchers get their 16 first; the two-server applications wait behind
    the cap; the best of them takes what is left once nobody else fits."""
    call = uuid.uuid4()
    general = [candidate(call, 95, "SNU", 2), candidate(call, 90, "KAIST", 1), candidate(call, 85, "POSTECH", 1),
               candidate(call, 80, "UNIST", 2), candidate(call, 70, "GIST", 1)]
    early = [candidate(call, s, inst, 1, "early_career") for s, inst in ((60, "KNU"), (55, "PNU"), (50, "CNU"))]
    await bus.handle(SelectRound(call, "P2", tuple(c.application_id for c in general + early), (), NOW))
    for c in general + early:
        await bus.handle(c)
    assert await confirm_awards(bus) == 7

    decisions = {r["application_id"]: r for r in await query("SELECT * FROM allocation.round_decision")}
    basis = {c.institution: decisions[c.application_id]["basis"] for c in general + early}
    assert basis == {"KNU": "reserve", "PNU": "reserve", "KAIST": "open", "POSTECH": "open", "GIST": "open",
                     "CNU": "open", "SNU": "cap_lifted", "UNIST": "institution_cap"}
    allocated = await outbox(query, "resource_allocated")
    assert sum(a["gpus"] for a in allocated) == 64
    servers = Counter(s["server_name"] for a in allocated for s in a["slots"])
    assert len(servers) == 8 and set(servers.values()) == {8}  # every server whole, none shared
    waitlisted = await outbox(query, "application_waitlisted")
    assert [(w["rank"], w["call_id"]) for w in waitlisted] == [(1, str(call))]
    assert "cap" in waitlisted[0]["reason"]
    (summary,) = await outbox(query, "round_selected")
    assert (summary["selected"], summary["waitlisted"], summary["reserve_gpus"], summary["reserve_gpus_used"],
            summary["gpus_awarded"]) == (7, 1, 16, 16, 64)
    assert await query("SELECT * FROM allocation.round_candidate") == []


async def test_unused_reserve_spills_over_to_general_applicants(bus: Any, query: Query) -> None:
    call = uuid.uuid4()
    general = [candidate(call, 90 - i, f"Institute {i}", 1) for i in range(7)]
    early = candidate(call, 40, "KNU", 1, "early_career")
    await bus.handle(SelectRound(call, "P2", tuple(c.application_id for c in [*general, early]), (), NOW))
    for c in [early, *general]:
        await bus.handle(c)
    (summary,) = await outbox(query, "round_selected")
    assert (summary["selected"], summary["reserve_gpus"], summary["reserve_gpus_used"]) == (8, 16, 8)


async def test_the_round_waits_for_every_score_and_forgets_the_withdrawn_and_rejected(
        bus: Any, query: Query, confirm_awards: Confirm) -> None:
    call = uuid.uuid4()
    first, withdrawn, rejected, last = (candidate(call, s, f"Institute {s}") for s in (90, 80, 70, 60))
    await bus.handle(first)
    await bus.handle(SelectRound(call, "P2", tuple(c.application_id for c in (first, withdrawn, rejected, last)),
                                 (), NOW))
    assert [r["status"] for r in await query("SELECT status FROM allocation.round")] == ["pending"]
    await bus.handle(WithdrawApplication(withdrawn.application_id, NOW))
    await bus.handle(ExcludeApplication(rejected.application_id, "company_size: no longer small", NOW))
    assert await outbox(query, "round_selected") == []
    await bus.handle(last)
    await bus.handle(withdrawn)  # a score arriving after the withdrawal is ignored
    assert [r["status"] for r in await query("SELECT status FROM allocation.round")] == ["selected"]
    await confirm_awards(bus)
    placed = {a["application_id"] for a in await outbox(query, "resource_allocated")}
    assert placed == {str(first.application_id), str(last.application_id)}


async def test_a_round_is_selected_when_its_last_missing_application_is_rejected_or_withdrawn(
        bus: Any, query: Query) -> None:
    other = uuid.uuid4()  # a round still waiting for a score of its own: not the one to tell
    await bus.handle(SelectRound(other, "P2", (uuid.uuid4(),), (), NOW))
    rounds = []
    for leaving in (ExcludeApplication, WithdrawApplication):
        call = uuid.uuid4()
        first, missing = (candidate(call, s, f"Institute {s}") for s in (90, 80))
        await bus.handle(first)
        await bus.handle(SelectRound(call, "P2", (first.application_id, missing.application_id), (), NOW))
        leaves = (ExcludeApplication(missing.application_id, "company_size: no longer small", NOW)
                  if leaving is ExcludeApplication else WithdrawApplication(missing.application_id, NOW))
        await bus.handle(leaves)  # it never became a candidate: the round that expects it is found all the same
        rounds.append(call)
    statuses = {r["call_id"]: r["status"] for r in await query("SELECT call_id, status FROM allocation.round")}
    assert ([statuses[call] for call in rounds], statuses[other]) == (["selected", "selected"], "pending")


async def test_a_repeated_end_of_round_selects_once(bus: Any, query: Query) -> None:
    call = uuid.uuid4()
    only = candidate(call, 90, "KAIST")
    await bus.handle(only)
    for _ in range(2):
        await bus.handle(SelectRound(call, "P2", (only.application_id,), (), NOW))
    assert len(await outbox(query, "round_selected")) == 1
    assert len(await query("SELECT * FROM allocation.allocation")) == 1


async def test_p1_grants_are_packed_onto_at_most_two_servers_keeping_whole_servers_free(
        bus: Any, query: Query, confirm_awards: Confirm) -> None:
    call = uuid.uuid4()
    sizes = [16, 12, 4, 3, 1, 5, 2, 9]
    requests = [candidate(call, 90 - i, f"Company {i}", program="P1", gpus=g) for i, g in enumerate(sizes)]
    await bus.handle(SelectRound(call, "P1", tuple(c.application_id for c in requests), (), NOW))
    for c in requests:
        await bus.handle(c)
    assert await confirm_awards(bus) == len(sizes)
    allocated = await outbox(query, "resource_allocated")
    assert sorted(a["gpus"] for a in allocated) == sorted(sizes)
    assert all(len({s["server_name"] for s in a["slots"]}) <= 2 for a in allocated)
    used = Counter(s["server_name"] for a in allocated for s in a["slots"])
    assert sum(sizes) == 52 and len(used) == 7  # 52 GPUs on 7 servers: one server of the 8 stays whole


async def test_the_round_and_its_reasons_are_readable_by_operators(stack: Stack, bus: Any) -> None:
    call = uuid.uuid4()
    winner, loser = candidate(call, 90, "KAIST", 1), candidate(call, 80, "SNU", 8)
    await bus.handle(winner)
    await bus.handle(loser)
    await bus.handle(SelectRound(call, "P2", (winner.application_id, loser.application_id), (), NOW))
    async with stack.api("allocation") as api:
        body = (await api.get(f"/rounds/{call}", headers=OPERATOR)).json()
        waitlist = (await api.get("/waitlist", params={"program": "P2"}, headers=OPERATOR)).json()
        missing = await api.get(f"/rounds/{uuid.uuid4()}", headers=OPERATOR)
    assert (body["status"], body["method"], body["expected"]) == ("selected", "exact", 2)
    assert [(d["application_id"], d["selected"], d["rank"]) for d in body["decisions"]] == [
        (str(winner.application_id), True, 1), (str(loser.application_id), False, 2)]
    assert "capacity" in body["decisions"][1]["reason"]
    assert [(w["application_id"], w["rank"]) for w in waitlist] == [(str(loser.application_id), 1)]
    assert missing.status_code == 404
