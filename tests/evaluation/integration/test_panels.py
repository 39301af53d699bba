"""Review panels on the real database and broker: assignment with conflicts excluded, waiting, reviews by API."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from contracts import Applicant, ApplicationInReview, ApplicationSubmitted, Company, from_record, to_record, topics
from evaluation.bootstrap import bootstrap
from evaluation.entrypoints.consumer import evaluate_submitted
from support.auth import OPERATOR, bearer
from support.kafka import produce_raw, read_topic
from support.stack import Stack

SCORES = {"technical_social_impact": 80, "ai_ecosystem_contribution": 70, "capability_readiness": 90}


def p1_submitted(**overrides: Any) -> ApplicationSubmitted:
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P1", call_id=uuid.uuid4(),
        applicant=Applicant(name="Hong Gildong", sector="industry", institution="Acme AI", region="Busan"),
        company=Company(business_registration_number="1234567891", size="startup", head_office_region="Busan",
                        representative_birth_date=date(1992, 5, 1)),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, purpose="real-time NLP inference for legal documents",
        occurred_at=datetime(2026, 4, 10, 9, 0, tzinfo=UTC))
    fields.update(overrides)
    return ApplicationSubmitted(**fields)


async def register(api: httpx.AsyncClient, name: str, institution: str = "POSTECH",
                   *expertise: str) -> dict[str, Any]:
    response = await api.post("/reviewers", json={"name": name, "institution": institution,
                                                  "expertise": list(expertise)}, headers=OPERATOR)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def evaluate_by_bus(stack: Stack, event: ApplicationSubmitted) -> None:
    """Run the submission through the service's own bus, as the consumer would."""
    runtime = bootstrap(stack.settings("evaluation"))
    try:
        await runtime.bus.handle(evaluate_submitted(event), message_id=event.id, message_type=event.type)
    finally:
        await runtime.aclose()


async def status_of(api: httpx.AsyncClient, event: ApplicationSubmitted) -> str:
    return (await api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)).json()["status"]  # type: ignore[no-any-return]


async def test_a_p1_application_gets_three_reviewers_without_conflicts_and_goes_in_review(stack: Stack) -> None:
    event = p1_submitted()
    async with stack.api("evaluation") as api, stack.worker("evaluation"):
        colleague = await register(api, "Lee", "ACME ai", "nlp")
        applicant = await register(api, "Hong Gildong", "POSTECH", "nlp")
        for name, expertise in (("Dong", "vision"), ("Cho", "speech"), ("Baek", "hpc"), ("Ahn", "NLP")):
            await register(api, name, "POSTECH", expertise)
        record = to_record(event, source="/gpu-platform/intake")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                          key=record.key, headers=record.headers)
        [found] = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES))
        panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
        status = await status_of(api, event)

    in_review = from_record(found.headers, found.value)
    assert isinstance(in_review, ApplicationInReview)
    assert (in_review.application_id, in_review.reviewers) == (event.application_id, 3)
    # Ahn knows NLP; then, all idle, by name
    assert [m["reviewer_name"] for m in panel["assigned"]] == ["Ahn", "Baek", "Cho"]
    assert {e["reviewer_id"]: e["reason"] for e in panel["excluded"]} == {
        colleague["id"]: "same_institution: ACME ai is the applicant's institution",
        applicant["id"]: "named_on_application: Hong Gildong is named on the application as the applicant"}
    assert status == "in_review"
    rows = await stack.fetch("SELECT count(*) AS n FROM evaluation.review_assignment")
    assert rows[0]["n"] == 3


async def test_an_application_waits_for_reviewers_and_gets_them_when_enough_register(stack: Stack) -> None:
    event = p1_submitted()
    async with stack.api("evaluation") as api:
        await register(api, "Ahn")
        await register(api, "Baek")
        await register(api, "Lee", "Acme AI")  # in conflict: does not count
        await evaluate_by_bus(stack, event)
        waiting = await status_of(api, event)
        await register(api, "Cho")
        assigned = await status_of(api, event)
        panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()

    assert (waiting, assigned) == ("awaiting_reviewers", "in_review")
    assert [m["reviewer_name"] for m in panel["assigned"]] == ["Ahn", "Baek", "Cho"]
    outbox = await stack.fetch("SELECT type, payload FROM evaluation.outbox")
    assert [r["type"] for r in outbox] == ["evaluation.application_in_review.v1"]


async def test_the_least_loaded_reviewers_get_the_next_application(stack: Stack) -> None:
    first, second = p1_submitted(), p1_submitted()
    async with stack.api("evaluation") as api:
        for name in ("Ahn", "Baek", "Cho", "Dong"):
            await register(api, name)
        await evaluate_by_bus(stack, first)
        await evaluate_by_bus(stack, second)
        panels = [(await api.get(f"/evaluations/{e.application_id}/panel", headers=OPERATOR)).json()
                  for e in (first, second)]
    assert [m["reviewer_name"] for m in panels[0]["assigned"]] == ["Ahn", "Baek", "Cho"]
    # Dong has nothing open; of the three with one open each, name order picks Ahn and Baek
    assert [m["reviewer_name"] for m in panels[1]["assigned"]] == ["Ahn", "Baek", "Dong"]


async def test_an_assigned_reviewer_reviews_once_through_the_api(stack: Stack) -> None:
    event = p1_submitted()
    async with stack.api("evaluation") as api:
        ahn, baek, cho = [await register(api, name) for name in ("Ahn", "Baek", "Cho")]
        outsider = await register(api, "Zed")
        await evaluate_by_bus(stack, event)
        body = {"application_id": str(event.application_id), "scores": SCORES}
        anonymous = await api.post("/reviews", json=body)
        as_operator = await api.post("/reviews", json=body, headers=OPERATOR)
        not_assigned = await api.post("/reviews", json=body, headers=bearer("reviewer", outsider["id"]))
        out_of_range = await api.post("/reviews", headers=bearer("reviewer", ahn["id"]), json={
            **body, "scores": {**SCORES, "capability_readiness": 101}})
        stored_after_refusals = await stack.fetch("SELECT 1 FROM evaluation.review_assignment "
                                                  "WHERE reviewed_at IS NOT NULL")
        first = await api.post("/reviews", json=body, headers=bearer("reviewer", ahn["id"]))
        second = await api.post("/reviews", json=body, headers=bearer("reviewer", ahn["id"]))
        other = await api.post("/reviews", headers=bearer("reviewer", baek["id"]), json={
            **body, "scores": {"technical_social_impact": 90, "ai_ecosystem_contribution": 60,
                               "capability_readiness": 75}})
        evaluation = (await api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)).json()

    assert (anonymous.status_code, as_operator.status_code, not_assigned.status_code) == (401, 403, 403)
    assert out_of_range.status_code == 422
    assert [e["field"] for e in out_of_range.json()["errors"]] == ["scores.capability_readiness"]
    assert stored_after_refusals == []
    assert first.status_code == 201 and first.json()["reviews_received"] == 1
    assert first.json()["score_so_far"] == 86.0  # 80 + 3 regional + 3 youth
    assert second.status_code == 409
    assert other.status_code == 201 and other.json()["score_so_far"] == 83.5  # (85 + 65 + 82.5) / 3 + 6
    assert (evaluation["status"], evaluation["score"], evaluation["reviews_received"]) == ("in_review", 83.5, 2)
    assert (evaluation["reviews_required"], evaluation["score_final"]) == (2, True)
    assert [(c["name"], c["mean"]) for c in evaluation["criteria"]] == [
        ("technical_social_impact", 85.0), ("ai_ecosystem_contribution", 65.0), ("capability_readiness", 82.5)]
    assert cho["id"] not in {ahn["id"], baek["id"]}


async def test_a_reviewer_sees_its_own_assignments_and_no_one_else_s(stack: Stack) -> None:
    event = p1_submitted()
    async with stack.api("evaluation") as api:
        ahn, baek, _ = [await register(api, name) for name in ("Ahn", "Baek", "Cho")]
        await evaluate_by_bus(stack, event)
        await api.post("/reviews", json={"application_id": str(event.application_id), "scores": SCORES},
                       headers=bearer("reviewer", ahn["id"]))
        own = await api.get(f"/reviewers/{ahn['id']}/assignments", headers=bearer("reviewer", ahn["id"]))
        by_operator = await api.get(f"/reviewers/{baek['id']}/assignments", headers=OPERATOR)
        someone_else_s = await api.get(f"/reviewers/{ahn['id']}/assignments", headers=bearer("reviewer", baek["id"]))
        unknown = await api.get(f"/reviewers/{uuid.uuid4()}/assignments", headers=OPERATOR)

    [mine] = own.json()
    assert (mine["application_id"], mine["program"], mine["status"]) == (str(event.application_id), "P1",
                                                                         "in_review")
    assert mine["scores"] == SCORES and mine["reviewed_at"] is not None
    [theirs] = by_operator.json()
    assert (theirs["scores"], theirs["reviewed_at"]) == (None, None)
    assert (someone_else_s.status_code, unknown.status_code) == (403, 404)


async def test_a_reviewer_with_bad_input_is_refused_naming_each_field(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        response = await api.post("/reviewers", json={"name": "", "expertise": "nlp"}, headers=OPERATOR)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"name", "institution", "expertise"}
    assert await stack.count("evaluation.reviewer") == 0
