"""Policies that are safe to change: bounded rules, the platform's invariants, a stated start that can be cancelled
before it comes, a preview that stores nothing, and an audit of who changed what. Time moves by the app's clock."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from evaluation.config import PolicyChangeSettings
from evaluation.domain.commands import EvaluateApplication
from evaluation.domain.model import Applicant, Company
from evaluation.entrypoints.api import create_app
from support.auth import OPERATOR, bearer
from support.clock import ManualClock
from support.stack import Stack

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SKEWED = {"technical_social_impact": 0.5, "ai_ecosystem_contribution": 0.3, "capability_readiness": 0.2}
KIM, LEE = bearer("operator", client_id="operator-kim"), bearer("operator", client_id="operator-lee")


@asynccontextmanager
async def api_at(stack: Stack, clock: ManualClock, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on the test's database, its policy changes timed by `clock`."""
    app = create_app(stack.settings("evaluation", **overrides), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evaluation") as client:
            yield client


async def schedule(api: httpx.AsyncClient, version: str, at: datetime, headers: dict[str, str] = OPERATOR,
                   **rules: Any) -> httpx.Response:
    return await api.post("/policies", json={"version": version, "effective_at": at.isoformat(), **rules},
                          headers=headers)


def p3(submitted_at: datetime) -> EvaluateApplication:
    """Eligible for P3 with a plan ratio of 1/2: 40 + 30 = 70 points under 2026.1."""
    return EvaluateApplication(
        application_id=uuid.uuid4(), program="P3", call_id=None,
        applicant=Applicant(sector="academia", institution="KAIST", region="Daejeon", name="Dr. Kim"),
        gpus_requested=8, gpu_model="H100", period_start=date(2027, 1, 1), period_end=date(2027, 6, 30),
        planned_gpu_hours_per_month=2920, submitted_at=submitted_at)


def p1(call_id: uuid.UUID) -> EvaluateApplication:
    """A regional youth startup: both P1 bonuses."""
    return EvaluateApplication(
        application_id=uuid.uuid4(), program="P1", call_id=call_id,
        applicant=Applicant(sector="industry", institution="Acme AI", region="Busan", name="Hong Gildong"),
        company=Company("1234567891", "startup", "Busan", date(1992, 5, 1)),
        gpus_requested=8, gpu_model="H100", period_start=date(2027, 1, 1), period_end=date(2027, 6, 30),
        planned_gpu_hours_per_month=3000, submitted_at=T0 - timedelta(days=1))


async def counts(stack: Stack) -> tuple[int, ...]:
    tables = ("policy_version", "evaluation", "review_assignment", "outbox")
    return tuple([await stack.count(f"evaluation.{t}") for t in tables])


async def test_a_rule_out_of_its_bounds_is_refused_naming_the_field_and_nothing_is_stored(stack: Stack) -> None:
    async with api_at(stack, ManualClock(T0)) as api:
        refused = await schedule(api, "2026.2", T0 + timedelta(hours=1), p1_max_gpus=17, youth_max_age_years=70,
                                 p1_regional_bonus_points=-1, rubric_weights={**SKEWED, "capability_readiness": 2})
        unstated = await api.post("/policies", json={"version": "2026.2"}, headers=OPERATOR)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "p1_max_gpus", "youth_max_age_years", "p1_regional_bonus_points", "rubric_weights.capability_readiness"}
    assert unstated.status_code == 422 and [e["field"] for e in unstated.json()["errors"]] == ["effective_at"]
    assert await stack.count("evaluation.policy_version") == 1


async def test_a_version_that_breaks_what_intake_and_allocation_rely_on_is_refused_and_nothing_is_stored(
        stack: Stack) -> None:
    async with api_at(stack, ManualClock(T0)) as api:
        servers = await schedule(api, "2026.2", T0 + timedelta(hours=1), server_gpus=4, p1_max_gpus=8)
        crossed = await schedule(api, "2026.2", T0 + timedelta(hours=1), p1_max_servers=1,
                                 p1_youth_bonus_points=8, p3_min_window_months=5)
    assert servers.status_code == crossed.status_code == 422
    [error] = servers.json()["errors"]
    assert error["field"] == "server_gpus"
    assert "INTAKE_FORMS__SERVER_GPUS" in error["reason"] and "ALLOCATION_INVENTORY__SERVER_GPUS" in error["reason"]
    # 16 GPUs cannot fit on one server of 8; 3 + 8 bonus points exceed 10; a 5-month minimum above the 4 maximum
    assert [e["field"] for e in crossed.json()["errors"]] == [
        "p3_min_window_months", "p1_max_gpus", "p1_youth_bonus_points"]
    assert await stack.count("evaluation.policy_version") == 1


async def test_a_version_starts_no_sooner_than_the_minimum_notice(stack: Stack) -> None:
    clock = ManualClock(T0)
    async with api_at(stack, clock) as api:
        too_soon = await schedule(api, "2026.2", T0 + timedelta(minutes=4))
    async with api_at(stack, clock, policy_changes=PolicyChangeSettings(min_notice_s=60)) as api:
        allowed = await schedule(api, "2026.2", T0 + timedelta(minutes=1))
    assert too_soon.status_code == 422
    assert too_soon.json()["errors"][0]["field"] == "effective_at"
    assert "at least 5 minute(s)" in too_soon.json()["errors"][0]["reason"]
    assert allowed.status_code == 201, allowed.text


async def test_a_scheduled_version_does_not_apply_before_its_start_and_applies_after(stack: Stack) -> None:
    clock = ManualClock(T0)
    before, after = p3(T0 + timedelta(minutes=30)), p3(T0 + timedelta(minutes=90))
    async with api_at(stack, clock) as api:
        created = await schedule(api, "2026.2", T0 + timedelta(hours=1), eligibility_base_points=20)
        waiting = {p["version"]: p["state"] for p in (await api.get("/policies", headers=OPERATOR)).json()}
        await stack.handle("evaluation", before)
        clock.now = T0 + timedelta(hours=2)
        started = {p["version"]: p["state"] for p in (await api.get("/policies", headers=OPERATOR)).json()}
        await stack.handle("evaluation", after)
        scored = [(await api.get(f"/evaluations/{c.application_id}", headers=OPERATOR)).json()
                  for c in (before, after)]
    assert created.status_code == 201, created.text
    assert waiting == {"2026.2": "scheduled", "2026.1": "in_force"}
    assert started == {"2026.2": "in_force", "2026.1": "superseded"}
    assert [(s["policy_version"], s["score"]) for s in scored] == [("2026.1", 70.0), ("2026.2", 60.0)]


async def test_a_scheduled_version_can_be_cancelled_before_its_start_and_not_after(stack: Stack) -> None:
    clock, application = ManualClock(T0), p3(T0 + timedelta(hours=3))
    async with api_at(stack, clock) as api:
        await schedule(api, "2026.2", T0 + timedelta(hours=1), min_reviews=3)
        await schedule(api, "2026.3", T0 + timedelta(hours=2), min_reviews=1)
        cancelled = await api.post("/policies/2026.3/cancel", headers=OPERATOR)
        again_at_its_time = await schedule(api, "2026.4", T0 + timedelta(hours=2), min_reviews=1)
        clock.now = T0 + timedelta(minutes=90)
        too_late = await api.post("/policies/2026.2/cancel", headers=OPERATOR)
        twice = await api.post("/policies/2026.3/cancel", headers=OPERATOR)
        unknown = await api.post("/policies/1999.1/cancel", headers=OPERATOR)
        await stack.handle("evaluation", application)
        decided = (await api.get(f"/evaluations/{application.application_id}", headers=OPERATOR)).json()
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert again_at_its_time.status_code == 201, again_at_its_time.text
    assert (too_late.status_code, twice.status_code, unknown.status_code) == (409, 409, 404)
    assert "took effect" in too_late.json()["detail"]
    assert decided["policy_version"] == "2026.4"  # the cancelled 2026.3 governs nothing


async def test_a_version_a_decision_already_names_cannot_be_cancelled(stack: Stack) -> None:
    clock = ManualClock(T0)
    dated_ahead = p3(T0 + timedelta(hours=2))
    async with api_at(stack, clock) as api:
        await schedule(api, "2026.2", T0 + timedelta(hours=1), eligibility_base_points=20)
        await stack.handle("evaluation", dated_ahead)
        refused = await api.post("/policies/2026.2/cancel", headers=OPERATOR)
    assert refused.status_code == 409
    assert await stack.fetch("SELECT cancelled_at FROM evaluation.policy_version WHERE version = '2026.2'") == [
        (None,)]


async def test_the_audit_names_the_operator_of_every_change(stack: Stack) -> None:
    clock = ManualClock(T0)
    async with api_at(stack, clock) as api:
        await schedule(api, "2026.2", T0 + timedelta(hours=1), headers=KIM, min_reviews=3)
        clock.now = T0 + timedelta(minutes=10)
        await api.post("/policies/2026.2/cancel", headers=LEE)
        listed = {p["version"]: p for p in (await api.get("/policies", headers=OPERATOR)).json()}
    assert listed["2026.2"]["created"] == {"at": "2026-12-01T09:00:00Z", "by": "operator-kim", "role": "operator"}
    assert listed["2026.2"]["cancelled"] == {"at": "2026-12-01T09:10:00Z", "by": "operator-lee", "role": "operator"}
    assert listed["2026.1"]["created"]["by"] == "seed" and listed["2026.1"]["cancelled"] is None


async def test_a_preview_stores_nothing_and_reports_each_score_difference(stack: Stack) -> None:
    call_id = uuid.uuid4()
    application, elsewhere = p1(call_id), p3(T0 - timedelta(hours=1))
    async with api_at(stack, ManualClock(T0)) as api:
        for name in ("Ahn", "Baek", "Cho"):
            await api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR)
        await stack.handle("evaluation", application, elsewhere)
        panel = (await api.get(f"/evaluations/{application.application_id}/panel", headers=OPERATOR)).json()
        for member, given in zip(panel["assigned"], ((80, 70, 90), (90, 60, 75)), strict=False):
            await api.post("/reviews", headers=bearer("reviewer", member["reviewer_id"]), json={
                "application_id": str(application.application_id), "scores": dict(zip(SKEWED, given, strict=True))})
        stored = await counts(stack)
        body = {"version": "2026.2", "effective_at": (T0 + timedelta(hours=1)).isoformat(),
                "rubric_weights": SKEWED, "p1_youth_bonus_points": 5}
        preview = await api.post("/policies/preview", params={"call_id": str(call_id)}, json=body,
                                 headers=OPERATOR)
        unsound = await api.post("/policies/preview", json={**body, "server_gpus": 16}, headers=OPERATOR)
        newest = await api.post("/policies/preview", params={"limit": 1}, json=body, headers=OPERATOR)
        assert await counts(stack) == stored
    assert preview.status_code == 200, preview.text
    result = preview.json()
    assert (result["valid"], result["errors"], result["in_force_version"]) == (True, [], "2026.1")
    assert result["proposed"]["rubric_weights"] == SKEWED and result["proposed"]["min_reviews"] == 2
    # thirds of 85, 65 and 82.5 = 77.5, + 3 + 3; under the proposal 0.5 x 85 + 0.3 x 65 + 0.2 x 82.5 = 78.5, + 3 + 5
    [scored] = result["applications"]
    assert (scored["application_id"], scored["recorded_score"], scored["current_score"], scored["proposed_score"],
            scored["difference"]) == (str(application.application_id), 83.5, 83.5, 86.5, 3.0)
    assert (unsound.json()["valid"], [e["field"] for e in unsound.json()["errors"]],
            unsound.json()["applications"]) == (False, ["server_gpus"], [])
    [p3_only] = newest.json()["applications"]  # the latest decision; a review does not move it
    assert (p3_only["application_id"], p3_only["current_score"], p3_only["difference"]) == (
        str(elsewhere.application_id), 70.0, 0.0)
