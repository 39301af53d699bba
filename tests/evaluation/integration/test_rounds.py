"""A P1/P2 round on the real database and broker: reviews in, the call closes, every application is decided."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx

from contracts import (
    Applicant,
    ApplicationRejected,
    ApplicationScored,
    ApplicationSubmitted,
    CallClosed,
    Company,
    Event,
    Researcher,
    RoundScored,
    from_record,
    to_record,
    topics,
)
from evaluation.entrypoints.consumer import evaluate_submitted, score_closed
from support.auth import OPERATOR, bearer
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

OPENS, CLOSES = datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 4, 24, 9, 0, tzinfo=UTC)
YOUNG, OLD = date(1992, 5, 1), date(1970, 5, 1)
T = TypeVar("T", bound=Event)


def p1(call_id: uuid.UUID, region: str = "Busan", birth: date = YOUNG, **overrides: Any) -> ApplicationSubmitted:
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P1", call_id=call_id,
        applicant=Applicant(name="Hong Gildong", sector="industry", institution=f"Startup {uuid.uuid4().hex[:6]}",
                            region=region),
        company=Company(business_registration_number="1234567891", size="startup", head_office_region=region,
                        representative_birth_date=birth),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, purpose="real-time inference", occurred_at=datetime(2026, 4, 10, tzinfo=UTC))
    fields.update(overrides)
    return ApplicationSubmitted(**fields)


def closed(call_id: uuid.UUID, *events: ApplicationSubmitted, program: str = "P1") -> CallClosed:
    return CallClosed(call_id=call_id, program=program, opens_at=OPENS, closes_at=CLOSES,
                      application_ids=[e.application_id for e in events])


def scores(impact: float, ecosystem: float, readiness: float) -> dict[str, float]:
    return {"technical_social_impact": impact, "ai_ecosystem_contribution": ecosystem,
            "capability_readiness": readiness}


async def deliver(stack: Stack, event: Event) -> None:
    record = to_record(event, source="/gpu-platform/intake")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                      headers=record.headers)


async def events_on(stack: Stack, topic: str, at_least: int) -> list[Event]:
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topic), at_least=at_least)
    return [e for e in (from_record(r.headers, r.value) for r in records) if e is not None]



async def register_reviewers(api: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        response = await api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR)
        assert response.status_code == 201, response.text


async def review(api: httpx.AsyncClient, event: ApplicationSubmitted, *given: dict[str, float]) -> None:
    """Each score set by the next reviewer of the application's panel."""
    panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
    for member, values in zip(panel["assigned"], given, strict=False):
        response = await api.post("/reviews", json={"application_id": str(event.application_id), "scores": values},
                                  headers=bearer("reviewer", member["reviewer_id"]))
        assert response.status_code == 201, response.text


async def all_in_review(api: httpx.AsyncClient, *events: ApplicationSubmitted) -> bool:
    statuses = [(await api.get(f"/evaluations/{e.application_id}", headers=OPERATOR)).json().get("status")
                for e in events]
    return all(s == "in_review" for s in statuses)


def by_application(events: list[Event], kind: type[T]) -> dict[uuid.UUID, T]:
    return {e.application_id: e for e in events if isinstance(e, kind)}  # type: ignore[attr-defined]


async def outbox(stack: Stack, type_: str) -> list[dict[str, Any]]:
    rows = await stack.fetch("SELECT payload FROM evaluation.outbox WHERE type = $1 ORDER BY seq", type_)
    return [json.loads(r["payload"]) for r in rows]


async def test_a_closed_call_scores_each_application_exactly_and_reports_the_round(stack: Stack) -> None:
    call_id = uuid.uuid4()
    both, neither = p1(call_id), p1(call_id, region="Seoul", birth=OLD)
    one_review, no_review = p1(call_id), p1(call_id)
    ineligible = p1(call_id, gpus_requested=20)
    async with stack.api("evaluation") as api, stack.worker("evaluation"):
        await register_reviewers(api, "Ahn", "Baek", "Cho")
        for event in (both, neither, one_review, no_review, ineligible):
            await deliver(stack, event)
        await eventually(lambda: all_in_review(api, both, neither, one_review, no_review), what="the panels")
        await review(api, both, scores(80, 70, 90), scores(90, 60, 75))
        await review(api, neither, scores(80, 70, 90), scores(90, 60, 75), scores(70, 80, 60))
        await review(api, one_review, scores(50, 60, 70))
        await deliver(stack, closed(call_id, both, neither, one_review, no_review, ineligible))
        [round_scored] = await events_on(stack, topics.ROUNDS, at_least=1)
        published = await events_on(stack, topics.SCORES, at_least=9)
        explained = (await api.get(f"/evaluations/{both.application_id}", headers=OPERATOR)).json()
        the_round = (await api.get(f"/rounds/{call_id}", headers=OPERATOR)).json()

    scored, rejected = by_application(published, ApplicationScored), by_application(published, ApplicationRejected)
    assert {k: v.score for k, v in scored.items()} == {
        both.application_id: 83.5,          # (85 + 65 + 82.5) / 3 = 77.5, + 3 regional + 3 youth
        neither.application_id: 75.0,       # means 80, 70, 75 over three reviews; Seoul, aged 55: no bonus
        one_review.application_id: 66.0}    # one review below the minimum of 2 still scores: 60 + 6
    first = scored[both.application_id]
    assert (first.call_id, first.program, first.policy_version, first.track) == (call_id, "P1", "2026.1", "general")
    assert (first.region, first.bonus_points, first.institution, first.gpus_requested) == (
        "Busan", 6.0, both.applicant.institution, 8)
    assert rejected[no_review.application_id].failed_rules == [
        "insufficient_reviews: no review arrived before the call closed; the policy asks for 2"]
    assert rejected[ineligible.application_id].failed_rules[0].startswith("p1_gpu_range")
    assert isinstance(round_scored, RoundScored)
    assert (round_scored.call_id, round_scored.program, round_scored.policy_version) == (call_id, "P1", "2026.1")
    assert round_scored.scored == [both.application_id, neither.application_id, one_review.application_id]
    assert round_scored.rejected == [no_review.application_id, ineligible.application_id]
    assert (explained["status"], explained["score"], explained["reviews_received"]) == ("eligible", 83.5, 2)
    assert [(c["name"], c["points"]) for c in explained["components"]] == [
        ("rubric", 77.5), ("bonus_regional", 3.0), ("bonus_youth", 3.0)]
    assert [(c["mean"], c["weight"]) for c in explained["criteria"]] == [(85.0, 1 / 3), (65.0, 1 / 3), (82.5, 1 / 3)]
    assert the_round["scored_at"] is not None and the_round["undecided"] == []


async def test_thirty_applications_from_two_partners_are_all_scored_with_an_explanation(stack: Stack) -> None:
    call_id, partners = uuid.uuid4(), (uuid.uuid4(), uuid.uuid4())
    events = [p1(call_id, partner_id=partners[i % 2], region=("Busan", "Seoul", "Daegu")[i % 3],
                 birth=(YOUNG, OLD)[i % 2]) for i in range(30)]
    async with stack.api("evaluation") as api, stack.worker("evaluation"):
        await register_reviewers(api, "Ahn", "Baek", "Cho", "Dong", "Eom")
        for event in events:
            await deliver(stack, event)
        await eventually(lambda: all_in_review(api, *events), what="thirty panels")
        for i, event in enumerate(events):
            await review(api, event, scores(60 + i, 70, 80), scores(62 + i, 74, 86))
        await deliver(stack, closed(call_id, *events))
        [round_scored] = await events_on(stack, topics.ROUNDS, at_least=1)
        results = [(await api.get(f"/evaluations/{e.application_id}", headers=OPERATOR)).json() for e in events]

    assert isinstance(round_scored, RoundScored)
    assert round_scored.scored == [e.application_id for e in events] and round_scored.rejected == []
    for i, result in enumerate(results):
        rubric = round((61 + i + 72 + 83) / 3 + 1e-9, 2)
        bonus = 3 * (i % 3 != 1) + 3 * (i % 2 == 0)
        assert result["status"] == "eligible"
        assert result["score"] == round(rubric + bonus, 2) == round(sum(c["points"] for c in result["components"]), 2)
        assert len(result["criteria"]) == 3 and result["reviews_received"] == 2
    loads = await stack.fetch("SELECT reviewer_id, count(*) AS n FROM evaluation.review_assignment "
                              "GROUP BY reviewer_id")
    assert sorted(r["n"] for r in loads) == [18, 18, 18, 18, 18]  # 90 places spread evenly over five


async def test_a_p2_round_puts_early_career_researchers_on_their_track_with_whole_servers(stack: Stack) -> None:
    call_id = uuid.uuid4()
    early = p1(call_id, program="P2", company=None, gpus_requested=16, servers_requested=2,
               planned_gpu_hours_per_month=6000,
               applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"),
               researcher=Researcher(institution_type="university", appointment_date=date(2022, 3, 1),
                                     birth_date=date(1975, 1, 1)))
    async with stack.api("evaluation") as api:
        await register_reviewers(api, "Ahn", "Baek", "Cho")
        await stack.handle("evaluation", evaluate_submitted(early))
        await review(api, early, scores(90, 90, 90), scores(70, 70, 70))
        await stack.handle("evaluation", score_closed(closed(call_id, early, program="P2")))

    [payload] = await outbox(stack, "evaluation.application_scored.v1")
    assert (payload["track"], payload["servers_requested"], payload["region"]) == ("early_career", 2, "Daejeon")
    assert (payload["score"], payload["bonus_points"]) == (83.0, 3.0)  # 80 + 3 outside the capital region


async def test_a_submission_arriving_after_its_call_closed_is_decided_and_completes_the_round(stack: Stack) -> None:
    call_id = uuid.uuid4()
    late = p1(call_id)
    await stack.handle("evaluation", score_closed(closed(call_id, late)))
    assert await outbox(stack, "evaluation.round_scored.v1") == []  # still waiting for it
    await stack.handle("evaluation", evaluate_submitted(late))

    [rejected] = await outbox(stack, "evaluation.application_rejected.v1")
    assert rejected["failed_rules"][0].startswith("insufficient_reviews")
    [round_scored] = await outbox(stack, "evaluation.round_scored.v1")
    assert (round_scored["scored"], round_scored["rejected"]) == ([], [str(late.application_id)])
    assert await stack.count("evaluation.review_assignment") == 0  # no panel for a closed round


async def test_a_repeated_close_changes_nothing(stack: Stack) -> None:
    call_id = uuid.uuid4()
    event = p1(call_id)
    close = closed(call_id, event)
    await stack.handle("evaluation", evaluate_submitted(event), score_closed(close), score_closed(close))
    assert len(await outbox(stack, "evaluation.round_scored.v1")) == 1
    assert len(await outbox(stack, "evaluation.application_rejected.v1")) == 1


async def test_a_review_after_the_close_is_refused(stack: Stack) -> None:
    call_id = uuid.uuid4()
    event = p1(call_id)
    async with stack.api("evaluation") as api:
        await register_reviewers(api, "Ahn", "Baek", "Cho")
        await stack.handle("evaluation", evaluate_submitted(event))
        panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
        await stack.handle("evaluation", score_closed(closed(call_id, event)))
        late = await api.post("/reviews", json={"application_id": str(event.application_id),
                                                "scores": scores(50, 50, 50)},
                              headers=bearer("reviewer", panel["assigned"][0]["reviewer_id"]))
    assert late.status_code == 409
    assert "reviews are closed" in late.json()["detail"]
