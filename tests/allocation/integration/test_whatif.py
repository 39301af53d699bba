"""The policy what-if on the real database, through the operator API: a stored round replayed under other policies,
its decisions, allocations and outbox untouched."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from allocation import demo
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.domain.commands import AddRoundCandidate, SeedInventory, SelectRound
from servicekit.runtime import Runtime
from support.auth import OPERATOR
from support.stack import Stack

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
NOW = datetime(2027, 2, 20, tzinfo=UTC)
MEANS = {"technical_social_impact": 80.0, "ai_ecosystem_contribution": 70.0, "capability_readiness": 90.0}
UNTOUCHED = ("SELECT * FROM allocation.round_decision ORDER BY application_id",
             "SELECT id, application_id, status, gpus FROM allocation.allocation ORDER BY id",
             "SELECT seq, type, payload FROM allocation.outbox ORDER BY seq", "SELECT * FROM allocation.round",
             "SELECT application_id, rank FROM allocation.waitlist ORDER BY application_id",
             "SELECT id, state FROM allocation.offer ORDER BY id", "SELECT call_id FROM allocation.round_input")


def candidate(call_id: uuid.UUID, score: float, institution: str, track: str = "general", *,
              bonus: float = 0.0, sector: str = "academia") -> AddRoundCandidate:
    """One server of H200 for a P2 researcher; a bonus is the non-capital one (its region class follows)."""
    return AddRoundCandidate(
        application_id=uuid.uuid4(), program="P2", call_id=call_id, score=score, track=track, institution=institution,
        gpus=8, gpu_model="H200", period_start=date(2027, 3, 1), period_end=date(2027, 8, 31),
        planned_gpu_hours_per_month=3000, region_class="non_capital" if bonus else "capital", sector=sector,
        bonuses={"non_capital_region": bonus} if bonus else {}, rubric_means=MEANS)


@pytest.fixture
async def bus(runtime: Runtime[SqlAllocationUnitOfWork]) -> Any:
    """The demo's P2 pool: 8 x 8 H200."""
    await runtime.bus.handle(SeedInventory(csps=demo.CSPS, servers=demo.P2_SERVERS))
    return runtime.bus


async def state(query: Query) -> list[list[asyncpg.Record]]:
    return [await query(sql) for sql in UNTOUCHED]


async def test_a_stored_round_replays_under_other_policies_and_nothing_changes(
        stack: Stack, bus: Any, query: Query, confirm_awards: Callable[[Any], Awaitable[int]]) -> None:
    """64 GPUs, reserve 16 (two servers), cap one server. Two early-career researchers take the reserve, six general
    applicants the rest; a regional one and a third early-career one wait. A bigger reserve takes the last general
    applicant's server for the third early-career researcher; a bigger bonus lifts the regional one over it."""
    call = uuid.uuid4()
    general = [candidate(call, 90 - i, f"Institute {i}", sector="industry" if i % 2 else "academia")
               for i in range(6)]
    regional = candidate(call, 84.5, "PNU", bonus=1.0, sector="public")     # just below the last general one
    early = [candidate(call, 50 - i, f"Lab {i}", "early_career") for i in range(3)]
    line = [*general, regional, *early]
    await bus.handle(SelectRound(call, "P2", tuple(c.application_id for c in line), (), NOW))
    for c in line:
        await bus.handle(c)
    await confirm_awards(bus)
    before = await state(query)
    body = {"variants": [{"name": "recorded"}, {"name": "bigger reserve", "reserve_share": 0.375},
                         {"name": "bigger bonus", "bonus_points": {"non_capital_region": 5}},
                         {"name": "other rule", "reserve_objective": "score", "max_gpus": 32, "rubric_weights": {
                             "technical_social_impact": 0.5, "ai_ecosystem_contribution": 0.25,
                             "capability_readiness": 0.25}}]}
    async with stack.api("allocation") as api:
        response = await api.post(f"/rounds/{call}/what-if", json=body, headers=OPERATOR)
        unknown_rule = await api.post(f"/rounds/{call}/what-if", headers=OPERATOR,
                                      json={"variants": [{"name": "a"}, {"name": "b", "luck": 1}]})
    assert response.status_code == 200, response.text
    found = response.json()
    assert (unknown_rule.status_code, [e["field"] for e in unknown_rule.json()["errors"]]) == (422, ["variants.1.luck"])
    assert await state(query) == before
    variants = {v["name"]: v for v in found["variants"]}
    assert (found["candidates"], found["baseline_vs_decisions"]["changes"]) == (10, [])
    assert variants["recorded"]["vs_baseline"]["changes"] == variants["recorded"]["vs_decisions"]["changes"] == []
    reserve = variants["bigger reserve"]["vs_decisions"]
    assert reserve["gpus"]["track"] == {"early_career": {"before": 16, "after": 24},
                                        "general": {"before": 48, "after": 40}}
    assert {c["application_id"]: c["after_selected"] for c in reserve["changes"]} == {
        str(early[2].application_id): True, str(general[-1].application_id): False}
    bonus = variants["bigger bonus"]["vs_decisions"]
    assert {c["application_id"]: (c["before_basis"], c["after_selected"], c["score_after"])
            for c in bonus["changes"]} == {str(regional.application_id): ("capacity", True, 88.5),
                                           str(general[-1].application_id): ("open", False, 85.0)}
    assert bonus["gpus"]["region_class"]["non_capital"] == {"before": 0, "after": 8}
    assert bonus["objective_after"] > bonus["objective_before"]
    assert (variants["other rule"]["rules"]["reserve_objective"], variants["other rule"]["rules"]["max_gpus"]) == (
        "score", 32)


async def test_a_what_if_is_refused_for_an_unknown_a_pending_round_or_a_bad_variant(
        stack: Stack, bus: Any, query: Query) -> None:
    pending = uuid.uuid4()
    await bus.handle(SelectRound(pending, "P2", (uuid.uuid4(),), (), NOW))
    before = await state(query)
    one = {"variants": [{"name": "a"}]}
    async with stack.api("allocation") as api:
        unknown = await api.post(f"/rounds/{uuid.uuid4()}/what-if", json=one, headers=OPERATOR)
        waiting = await api.post(f"/rounds/{pending}/what-if", json=one, headers=OPERATOR)
        weights = await api.post(f"/rounds/{pending}/what-if", headers=OPERATOR, json={"variants": [
            {"name": "a", "rubric_weights": {"technical_social_impact": 2}}]})
        twins = await api.post(f"/rounds/{pending}/what-if", json={"variants": [{"name": "a"}, {"name": "a"}]},
                               headers=OPERATOR)
        many = await api.post(f"/rounds/{pending}/what-if", headers=OPERATOR,
                              json={"variants": [{"name": str(i)} for i in range(6)]})

    assert (unknown.status_code, waiting.status_code) == (404, 409)
    assert "not selected" in waiting.json()["detail"]
    for refused, field in ((weights, "variants.0.rubric_weights.technical_social_impact"), (twins, "variants"),
                           (many, "variants")):
        assert (refused.status_code, [e["field"] for e in refused.json()["errors"]]) == (422, [field])
    assert await state(query) == before
