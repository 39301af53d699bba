"""The re-check at award time, through the operator API on the real database and broker."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from contracts import Applicant, ApplicationRejected, ApplicationSubmitted, from_record, topics
from evaluation.domain.commands import ScoreRound
from evaluation.entrypoints.consumer import evaluate_submitted
from support.auth import OPERATOR, bearer
from support.kafka import read_topic
from support.stack import Stack
from support.submissions import submitted

AWARD = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


async def scored_p1(stack: Stack) -> ApplicationSubmitted:
    """A P1 application reviewed twice and scored at its call's close."""
    event = submitted()
    async with stack.api("evaluation") as api:
        for name in ("Ahn", "Baek", "Cho"):
            await api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR)
        await stack.handle("evaluation", evaluate_submitted(event))
        panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
        for member in panel["assigned"][:2]:
            await api.post("/reviews", headers=bearer("reviewer", member["reviewer_id"]), json={
                "application_id": str(event.application_id), "scores": {
                    "technical_social_impact": 80, "ai_ecosystem_contribution": 80, "capability_readiness": 80}})
    assert event.call_id is not None
    await stack.handle("evaluation", ScoreRound(event.call_id, "P1", datetime(2026, 3, 25, tzinfo=UTC),
                                   datetime(2026, 4, 24, tzinfo=UTC), (event.application_id,)))
    return event


async def test_a_p1_applicant_no_longer_a_startup_is_rejected_at_award_time_naming_the_rule(stack: Stack) -> None:
    event = await scored_p1(stack)
    async with stack.api("evaluation") as api, stack.worker("evaluation"):
        response = await api.post(f"/evaluations/{event.application_id}/recheck", headers=OPERATOR,
                                  json={"at": AWARD.isoformat(), "company_size": "mid"})
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES), at_least=3)
        # in review, scored at the close, then rejected at award time

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recheck"]["passed"] is False
    assert (body["recheck"]["policy_version"], body["recheck"]["changes"]) == ("2026.1", {"company_size": "mid"})
    assert body["evaluation"]["status"] == "rejected"
    assert body["evaluation"]["company"]["size"] == "mid"
    assert body["evaluation"]["failed_rules"] == [
        "p1_company_size: P1 is for small and startup companies; the company is mid"]
    published = [from_record(r.headers, r.value) for r in records]
    [rejected] = [e for e in published if isinstance(e, ApplicationRejected)]
    assert rejected.application_id == event.application_id
    assert rejected.failed_rules == body["evaluation"]["failed_rules"]
    assert rejected.policy_version == "2026.1"


async def test_a_recheck_that_passes_keeps_the_score_and_is_recorded(stack: Stack) -> None:
    event = await scored_p1(stack)
    async with stack.api("evaluation") as api:
        response = await api.post(f"/evaluations/{event.application_id}/recheck", headers=OPERATOR,
                                  json={"at": AWARD.isoformat(), "company_size": "small"})
    body = response.json()
    assert body["recheck"]["passed"] is True
    assert (body["evaluation"]["status"], body["evaluation"]["score"]) == ("eligible", 86.0)
    assert [r["changes"] for r in body["evaluation"]["rechecks"]] == [{"company_size": "small"}]
    assert await stack.fetch("SELECT 1 FROM evaluation.outbox WHERE type = 'evaluation.application_rejected.v1'") \
        == []


async def test_a_p3_window_that_has_closed_by_award_time_fails_the_recheck(stack: Stack) -> None:
    event = submitted("P3", company=None, call_id=None, earliest_start=date(2026, 5, 1), acceptable_window_months=3,
                      applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"))
    await stack.handle("evaluation", evaluate_submitted(event))
    async with stack.api("evaluation") as api:
        still_open = await api.post(f"/evaluations/{event.application_id}/recheck", headers=OPERATOR,
                                    json={"at": "2026-08-01T12:00:00+00:00"})
        closed = await api.post(f"/evaluations/{event.application_id}/recheck", headers=OPERATOR,
                                json={"at": "2026-08-02T12:00:00+00:00"})
    assert still_open.json()["recheck"]["passed"] is True
    assert closed.json()["evaluation"]["status"] == "rejected"
    assert [r.split(":")[0] for r in closed.json()["evaluation"]["failed_rules"]] == ["p3_window_open"]


async def test_a_recheck_is_refused_for_unknown_rejected_or_mistaken_requests(stack: Stack) -> None:
    rejected = submitted(gpus_requested=40)
    p3 = submitted("P3", company=None, call_id=None)
    await stack.handle("evaluation", evaluate_submitted(rejected), evaluate_submitted(p3))
    async with stack.api("evaluation") as api:
        unknown = await api.post(f"/evaluations/{uuid.uuid4()}/recheck", headers=OPERATOR, json={})
        again = await api.post(f"/evaluations/{rejected.application_id}/recheck", headers=OPERATOR, json={})
        no_company = await api.post(f"/evaluations/{p3.application_id}/recheck", headers=OPERATOR,
                                    json={"company_size": "mid"})
        bad = await api.post(f"/evaluations/{p3.application_id}/recheck", headers=OPERATOR,
                             json={"at": "yesterday", "company_size": "huge"})
        untouched = (await api.get(f"/evaluations/{p3.application_id}", headers=OPERATOR)).json()
    assert (unknown.status_code, again.status_code, no_company.status_code, bad.status_code) == (404, 409, 422, 422)
    assert [e["field"] for e in no_company.json()["errors"]] == ["company_size"]
    assert {e["field"] for e in bad.json()["errors"]} == {"at", "company_size"}
    assert untouched["rechecks"] == [] and untouched["status"] == "eligible"
