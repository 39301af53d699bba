"""Policy versions through the operator API, and which version each decision is taken (and explained) under."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from contracts import Applicant, ApplicationScored, ApplicationSubmitted, Company, from_record, to_record, topics
from evaluation.domain.commands import ScoreRound
from evaluation.entrypoints.consumer import evaluate_submitted
from support.auth import OPERATOR, bearer
from support.kafka import produce_raw, read_topic
from support.stack import Stack

THIRDS = {"technical_social_impact": 1 / 3, "ai_ecosystem_contribution": 1 / 3, "capability_readiness": 1 / 3}
SKEWED = {"technical_social_impact": 0.5, "ai_ecosystem_contribution": 0.3, "capability_readiness": 0.2}


def p3(occurred_at: datetime) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P3",
        applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 5, 31),
        planned_gpu_hours_per_month=1460, purpose="training", occurred_at=occurred_at)  # plan ratio 1/2


def p1(size: str = "startup") -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P1", call_id=uuid.uuid4(),
        applicant=Applicant(name="Hong Gildong", sector="industry", institution="Acme AI", region="Busan"),
        company=Company(business_registration_number="1234567891", size=size, head_office_region="Busan",
                        representative_birth_date=date(1992, 5, 1)),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, purpose="inference", occurred_at=datetime(2026, 4, 10, tzinfo=UTC))



def soon() -> str:
    """A start past the default minimum notice (5 minutes)."""
    return (datetime.now(UTC) + timedelta(minutes=10)).isoformat()


async def publish(api: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await api.post("/policies", json={"effective_at": soon(), **body}, headers=OPERATOR)


async def test_the_seeded_version_2026_1_carries_the_program_rules_defaults(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        listed = (await api.get("/policies", headers=OPERATOR)).json()
        seed = (await api.get("/policies/2026.1", headers=OPERATOR)).json()
        unknown = await api.get("/policies/1999.1", headers=OPERATOR)
    assert [p["version"] for p in listed] == ["2026.1"] and listed[0] == seed
    assert (seed["effective_at"], seed["state"]) == ("2026-01-01T00:00:00Z", "in_force")
    assert seed["created"]["by"] == "seed" and seed["cancelled"] is None
    assert seed["rubric_weights"] == THIRDS
    assert (seed["p1_regional_bonus_points"], seed["p1_youth_bonus_points"], seed["p2_non_capital_bonus_points"]) \
        == (3, 3, 3)
    assert (seed["reviewers_per_application"], seed["min_reviews"], seed["server_gpus"]) == (3, 2, 8)
    assert unknown.status_code == 404


async def test_a_new_version_carries_over_what_it_does_not_change_and_leaves_the_old_one_alone(
        stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        created = await publish(api, version="2026.2", rubric_weights=SKEWED, p1_youth_bonus_points=5)
        listed = (await api.get("/policies", headers=OPERATOR)).json()
        old = (await api.get("/policies/2026.1", headers=OPERATOR)).json()
    assert created.status_code == 201, created.text
    new = created.json()
    assert (new["rubric_weights"], new["p1_youth_bonus_points"]) == (SKEWED, 5)
    assert (new["p1_regional_bonus_points"], new["min_reviews"], new["p1_max_gpus"]) == (3, 2, 16)
    assert datetime.fromisoformat(new["effective_at"]) > datetime.now(UTC) + timedelta(minutes=5)
    assert (new["state"], new["created"]["by"], new["created"]["role"]) == ("scheduled", "operator-tests", "operator")
    assert [p["version"] for p in listed] == ["2026.2", "2026.1"]
    assert (old["rubric_weights"], old["p1_youth_bonus_points"]) == (THIRDS, 3)


async def test_an_existing_version_is_never_changed(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        seed_again = await publish(api, version="2026.1", min_reviews=1)
        first = await publish(api, version="2026.2", min_reviews=1)
        second = await publish(api, version="2026.2", min_reviews=3)
        stored = (await api.get("/policies/2026.2", headers=OPERATOR)).json()
    assert (seed_again.status_code, first.status_code, second.status_code) == (409, 201, 409)
    assert stored["min_reviews"] == 1


async def test_a_version_that_makes_no_sense_is_refused_naming_each_field_and_nothing_is_stored(
        stack: Stack) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    async with stack.api("evaluation") as api:
        unsound = await publish(api, version="2026.2", effective_at=yesterday, min_reviews=4,
                                rubric_weights={**SKEWED, "capability_readiness": 0.3})
        malformed = await publish(api, version="not a version!", youth_bonus=3, p1_max_gpus=0,
                                  rubric_weights={"novelty": 1})
    assert unsound.status_code == malformed.status_code == 422
    assert [e["field"] for e in unsound.json()["errors"]] == ["effective_at", "rubric_weights", "min_reviews"]
    assert {e["field"] for e in malformed.json()["errors"]} == {
        "version", "youth_bonus", "p1_max_gpus", "rubric_weights.novelty.[key]"}
    assert await stack.count("evaluation.policy_version") == 1


async def test_a_new_version_governs_submissions_after_its_start_and_old_explanations_stay(stack: Stack) -> None:
    before = p3(datetime(2026, 4, 10, tzinfo=UTC))
    async with stack.api("evaluation") as api, stack.worker("evaluation"):
        for event in (before,):
            record = to_record(event, source="/gpu-platform/intake")
            await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                              key=record.key, headers=record.headers)
        await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES), at_least=1)
        created = (await publish(api, version="2026.2", eligibility_base_points=20)).json()
        starts = datetime.fromisoformat(created["effective_at"])
        after, late_but_older = p3(starts + timedelta(seconds=1)), p3(starts - timedelta(seconds=1))
        for event in (after, late_but_older):
            record = to_record(event, source="/gpu-platform/intake")
            await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                              key=record.key, headers=record.headers)
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES), at_least=3)
        old = (await api.get(f"/evaluations/{before.application_id}", headers=OPERATOR)).json()

    scored = {e.application_id: e for e in (from_record(r.headers, r.value) for r in records)
              if isinstance(e, ApplicationScored)}
    assert (scored[before.application_id].policy_version, scored[before.application_id].score) == ("2026.1", 70.0)
    assert (scored[after.application_id].policy_version, scored[after.application_id].score) == ("2026.2", 60.0)
    # submitted a second before the new version started, evaluated after: the rules of its submission apply
    assert scored[late_but_older.application_id].policy_version == "2026.1"
    assert (old["policy_version"], old["score"]) == ("2026.1", 70.0)
    assert {c["name"]: c["points"] for c in old["components"]} == {"eligibility_base": 40.0, "plan_readiness": 30.0}


async def test_a_round_is_scored_under_the_version_in_force_at_its_close(stack: Stack) -> None:
    event = p1()
    async with stack.api("evaluation") as api:
        for name in ("Ahn", "Baek", "Cho"):
            await api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR)
        await stack.handle("evaluation", evaluate_submitted(event))
        panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
        for member, given in zip(panel["assigned"], ((80, 70, 90), (90, 60, 75)), strict=False):
            await api.post("/reviews", headers=bearer("reviewer", member["reviewer_id"]), json={
                "application_id": str(event.application_id), "scores": dict(zip(SKEWED, given, strict=True))})
        created = await publish(api, version="2026.2", rubric_weights=SKEWED, p1_youth_bonus_points=5)
        closes_at = datetime.fromisoformat(created.json()["effective_at"]) + timedelta(seconds=1)
        assert event.call_id is not None
        await stack.handle("evaluation", ScoreRound(event.call_id, "P1", datetime(2026, 3, 25, tzinfo=UTC),
                                       closes_at, (event.application_id,)))
        result = (await api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)).json()

    # 0.5 x 85 + 0.3 x 65 + 0.2 x 82.5 = 78.5, + 3 regional + 5 youth under 2026.2
    assert (result["score"], result["policy_version"], result["eligibility_policy_version"]) == (
        86.5, "2026.2", "2026.1")
    assert [(c["name"], c["weight"]) for c in result["criteria"]] == list(SKEWED.items())
    rows = await stack.fetch("SELECT payload FROM evaluation.outbox WHERE type = 'evaluation.round_scored.v1'")
    assert json.loads(rows[0]["payload"])["policy_version"] == "2026.2"


async def test_a_recheck_applies_the_version_in_force_at_its_time(stack: Stack) -> None:
    event = p1(size="small")
    await stack.handle("evaluation", evaluate_submitted(event))
    async with stack.api("evaluation") as api:
        created = await publish(api, version="2026.2", p1_company_sizes=["startup"])
        after_start = datetime.fromisoformat(created.json()["effective_at"]) + timedelta(seconds=1)
        earlier = await api.post(f"/evaluations/{event.application_id}/recheck", headers=OPERATOR,
                                 json={"at": "2026-05-01T00:00:00+00:00"})
        now = await api.post(f"/evaluations/{event.application_id}/recheck", headers=OPERATOR,
                             json={"at": after_start.isoformat()})
    assert (earlier.json()["recheck"]["policy_version"], earlier.json()["recheck"]["passed"]) == ("2026.1", True)
    assert (now.json()["recheck"]["policy_version"], now.json()["recheck"]["passed"]) == ("2026.2", False)
    assert now.json()["evaluation"]["failed_rules"] == [
        "p1_company_size: P1 is for startup companies; the company is small"]
