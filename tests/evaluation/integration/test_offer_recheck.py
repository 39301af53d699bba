"""The re-check before an offer of freed capacity: allocation asks, evaluation re-runs the rules under the version in
force at the request and answers for the offer — on the real database, and once through the real worker and broker."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from contracts import (
    Applicant,
    ApplicationScored,
    ApplicationSubmitted,
    EligibilityConfirmed,
    EligibilityRecheckRequested,
    Event,
    OfferMade,
    from_record,
    to_record,
    topics,
)
from evaluation.entrypoints.consumer import evaluate_submitted, recheck_requested
from support.auth import OPERATOR
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

SUBMITTED_AT = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)


def p3(**overrides: Any) -> ApplicationSubmitted:
    """A P3 plan for 1 May to 31 October 2026 that wants a 3-month window from 1 May: open until 1 August."""
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P3",
        applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM", earliest_start=date(2026, 5, 1),
        acceptable_window_months=3, occurred_at=SUBMITTED_AT)
    fields.update(overrides)
    return ApplicationSubmitted(**fields)


def requested(application_id: uuid.UUID, at: datetime, program: str = "P3") -> EligibilityRecheckRequested:
    return EligibilityRecheckRequested(application_id=application_id, offer_id=uuid.uuid4(), program=program,
                                       occurred_at=at)


async def answers(stack: Stack) -> list[dict[str, Any]]:
    """The re-check answers in evaluation's outbox, oldest first: type and payload, without the envelope."""
    rows = await stack.fetch("SELECT type, payload FROM evaluation.outbox WHERE type IN "
                             "('evaluation.eligibility_confirmed.v1', 'evaluation.application_rejected.v1') "
                             "ORDER BY seq")
    return [{"type": r["type"], **json.loads(r["payload"])} for r in rows]  # the id and time are columns of their own


async def evaluation(stack: Stack, application_id: uuid.UUID) -> dict[str, Any]:
    async with stack.api("evaluation") as api:
        response = await api.get(f"/evaluations/{application_id}", headers=OPERATOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_application_still_eligible_is_confirmed_for_the_offer_and_the_recheck_recorded(
        stack: Stack) -> None:
    submitted = p3()
    request = requested(submitted.application_id, datetime(2026, 7, 20, 9, 0, tzinfo=UTC))
    await stack.handle("evaluation", evaluate_submitted(submitted), recheck_requested(request))

    assert await answers(stack) == [{"type": "evaluation.eligibility_confirmed.v1",
                                     "application_id": str(submitted.application_id),
                                     "offer_id": str(request.offer_id), "policy_version": "2026.1"}]
    body = await evaluation(stack, submitted.application_id)
    assert (body["status"], body["score"]) == ("eligible", 81.1)
    [recheck] = body["rechecks"]
    assert (recheck["offer_id"], recheck["passed"], recheck["changes"]) == (str(request.offer_id), True, {})
    assert datetime.fromisoformat(recheck["at"]) == request.occurred_at


async def test_a_window_closed_on_the_day_of_the_request_rejects_the_application_for_the_offer(
        stack: Stack) -> None:
    submitted = p3()
    request = requested(submitted.application_id, datetime(2026, 8, 2, 9, 0, tzinfo=UTC))
    await stack.handle("evaluation", evaluate_submitted(submitted), recheck_requested(request))

    [answer] = await answers(stack)
    assert (answer["type"], answer["offer_id"], answer["program"]) == (
        "evaluation.application_rejected.v1", str(request.offer_id), "P3")
    assert [r.split(":")[0] for r in answer["failed_rules"]] == ["p3_window_open"]
    body = await evaluation(stack, submitted.application_id)
    assert (body["status"], body["score"], body["failed_rules"]) == ("rejected", None, answer["failed_rules"])
    assert [(r["offer_id"], r["passed"]) for r in body["rechecks"]] == [(str(request.offer_id), False)]


async def test_the_rules_are_those_of_the_version_in_force_when_allocation_asked(stack: Stack) -> None:
    start = datetime.now(UTC).date() + timedelta(days=7)
    submitted = p3(period_start=start, earliest_start=start, period_end=start + timedelta(days=150),
                   acceptable_window_months=4, occurred_at=datetime.now(UTC) - timedelta(days=1))
    await stack.handle("evaluation", evaluate_submitted(submitted))
    async with stack.api("evaluation") as api:
        created = await api.post("/policies", headers=OPERATOR, json={
            "version": "2026.2", "p3_max_window_months": 3,
            "effective_at": (datetime.now(UTC) + timedelta(minutes=10)).isoformat()})
    assert created.status_code == 201, created.text
    starts = datetime.fromisoformat(created.json()["effective_at"])
    before, after = (requested(submitted.application_id, starts - timedelta(seconds=1)),
                     requested(submitted.application_id, starts + timedelta(seconds=1)))
    await stack.handle("evaluation", recheck_requested(before), recheck_requested(after))

    confirmed, rejected = await answers(stack)
    assert (confirmed["type"], confirmed["offer_id"], confirmed["policy_version"]) == (
        "evaluation.eligibility_confirmed.v1", str(before.offer_id), "2026.1")
    assert (rejected["type"], rejected["offer_id"], rejected["policy_version"]) == (
        "evaluation.application_rejected.v1", str(after.offer_id), "2026.2")
    assert rejected["failed_rules"] == ["p3_window_length: a P3 window lasts 1 to 3 months; 4 were asked"]


async def test_an_application_rejected_before_gets_its_rejection_again_for_the_offer(stack: Stack) -> None:
    submitted = p3(planned_gpu_hours_per_month=5000)  # more than 4 GPUs can deliver
    request = requested(submitted.application_id, datetime(2026, 7, 20, tzinfo=UTC))
    await stack.handle("evaluation", evaluate_submitted(submitted), recheck_requested(request))

    on_arrival, again = await answers(stack)
    assert on_arrival["offer_id"] is None and again["offer_id"] == str(request.offer_id)
    assert again["type"] == "evaluation.application_rejected.v1"
    assert (again["failed_rules"], again["policy_version"]) == (on_arrival["failed_rules"], "2026.1")
    assert [r.split(":")[0] for r in again["failed_rules"]] == ["plan_within_capacity"]
    assert (await evaluation(stack, submitted.application_id))["rechecks"] == []  # nothing was re-run


async def test_an_application_evaluation_never_received_is_rejected_for_the_offer_saying_so(stack: Stack) -> None:
    request = requested(uuid.uuid4(), datetime(2026, 7, 20, tzinfo=UTC), program="P1")
    await stack.handle("evaluation", recheck_requested(request))

    assert await answers(stack) == [{
        "type": "evaluation.application_rejected.v1", "application_id": str(request.application_id),
        "program": "P1", "offer_id": str(request.offer_id), "policy_version": "2026.1",
        "failed_rules": ["no_evaluation: no evaluation of this application is on record"]}]
    assert await stack.count("evaluation.evaluation") == 0


async def test_a_scored_event_carries_the_p3_window_allocation_needs(stack: Stack) -> None:
    submitted = p3()
    await stack.handle("evaluation", evaluate_submitted(submitted))
    [row] = await stack.fetch("SELECT payload FROM evaluation.outbox WHERE type = 'evaluation.application_scored.v1'")
    scored = ApplicationScored.model_validate(json.loads(row["payload"]))
    assert (scored.earliest_start, scored.acceptable_window_months) == (date(2026, 5, 1), 3)


async def publish(stack: Stack, event: Event) -> None:
    """An event as allocation's relay sends it: a CloudEvents record on the (prefixed) topic."""
    record = to_record(event, source="/gpu-platform/allocation")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                      headers=record.headers)


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted


async def test_the_worker_answers_a_request_on_allocations_topic_once_and_skips_allocations_other_events(
        stack: Stack) -> None:
    submitted = p3()
    await stack.handle("evaluation", evaluate_submitted(submitted))
    request = requested(submitted.application_id, datetime(2026, 7, 20, 9, 0, tzinfo=UTC))
    other = OfferMade(application_id=submitted.application_id, offer_id=request.offer_id, program="P3",
                      gpu_model="H100", gpus=4, starts_at=datetime(2026, 8, 1, tzinfo=UTC),
                      ends_at=datetime(2026, 10, 31, tzinfo=UTC), expires_at=datetime(2026, 7, 23, tzinfo=UTC))
    async with stack.worker("evaluation") as worker:
        for event in (other, request, request):  # the request redelivered
            await publish(stack, event)
        await eventually(lambda: _at_least(worker.consumer.processed, 2), what="both deliveries of the request")
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES), at_least=2)

    published = [from_record(r.headers, r.value) for r in records]
    assert [type(e).__name__ for e in published] == ["ApplicationScored", "EligibilityConfirmed"]
    confirmed = published[1]
    assert isinstance(confirmed, EligibilityConfirmed)
    assert (confirmed.application_id, confirmed.offer_id) == (submitted.application_id, request.offer_id)
    assert (worker.consumer.processed, worker.consumer.dead_lettered) == (2, 0)
    assert len((await evaluation(stack, submitted.application_id))["rechecks"]) == 1


async def test_the_operator_recheck_still_reads_as_one_without_an_offer(stack: Stack) -> None:
    submitted = p3()
    await stack.handle("evaluation", evaluate_submitted(submitted))
    async with stack.api("evaluation") as api:
        response: httpx.Response = await api.post(f"/evaluations/{submitted.application_id}/recheck",
                                                  headers=OPERATOR, json={"at": "2026-07-20T09:00:00+00:00"})
    assert response.status_code == 200, response.text
    assert response.json()["recheck"]["offer_id"] is None
    assert await answers(stack) == []
