"""Submitted applications arrive on Kafka; the real worker evaluates them and publishes through its outbox."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from contracts import (
    Applicant,
    ApplicationRejected,
    ApplicationScored,
    ApplicationSubmitted,
    Event,
    from_record,
    to_record,
    topics,
)
from support.auth import OPERATOR
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

SUBMITTED_AT = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)


def submitted(**overrides: Any) -> ApplicationSubmitted:
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P3", call_id=uuid.uuid4(),
        applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM", occurred_at=SUBMITTED_AT,
    )
    fields.update(overrides)
    return ApplicationSubmitted(**fields)


async def deliver(stack: Stack, event: Event) -> None:
    """Write the event to the prefixed topic exactly as intake's relay would."""
    record = to_record(event, source="/gpu-platform/intake")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                      key=record.key, headers=record.headers)


async def published(stack: Stack, at_least: int = 1) -> list[Event]:
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES), at_least=at_least)
    events = [from_record(r.headers, r.value) for r in records]
    return [e for e in events if e is not None]



async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted


async def test_a_submitted_p3_application_is_scored_published_and_explained(stack: Stack) -> None:
    event = submitted()
    async with stack.worker("evaluation"), stack.api("evaluation") as api:
        await deliver(stack, event)
        [scored] = await published(stack)

        async def evaluated() -> Any:
            response = await api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)
            return response.json() if response.status_code == 200 else None
        body = await eventually(evaluated, what="the evaluation over HTTP")

    assert isinstance(scored, ApplicationScored)
    assert scored.application_id == event.application_id
    assert scored.score == 81.1  # 40 + 60 x 2000 / (4 x 730) = 81.0958...
    assert (scored.policy_version, scored.track, scored.institution) == ("2026.1", "general", "KAIST")
    assert (scored.call_id, scored.gpus_requested, scored.gpu_model) == (event.call_id, 4, "H100")
    assert (scored.period_start, scored.period_end) == (event.period_start, event.period_end)
    assert scored.planned_gpu_hours_per_month == 2000
    assert (scored.region, scored.bonus_points, scored.servers_requested) == ("Daejeon", 0, None)
    assert (body["status"], body["score"], body["policy_version"]) == ("eligible", 81.1, "2026.1")
    assert {c["name"]: c["points"] for c in body["components"]} == {"eligibility_base": 40.0,
                                                                    "plan_readiness": 41.1}
    assert body["failed_rules"] == []
    assert {r["rule"] for r in body["rules"] if r["passed"]} == {
        "p3_period_length", "p3_period_not_ended", "p3_window_length", "p3_window_open", "period_order",
        "plan_within_capacity"}


async def test_an_ineligible_application_is_rejected_naming_every_failed_rule(stack: Stack) -> None:
    event = submitted(program="P1", gpus_requested=20, planned_gpu_hours_per_month=1000)
    async with stack.worker("evaluation"):
        await deliver(stack, event)
        [rejected] = await published(stack)

    assert isinstance(rejected, ApplicationRejected)
    assert rejected.application_id == event.application_id
    assert [r.split(":")[0] for r in rejected.failed_rules] == ["p1_industry_sector", "p1_company_size",
                                                                 "p1_gpu_range", "p1_server_count"]
    assert "academia" in rejected.failed_rules[0] and "20" in rejected.failed_rules[2]
    assert rejected.policy_version == "2026.1"
    [row] = await stack.fetch("SELECT status, score FROM evaluation.evaluation")
    assert (row["status"], row["score"]) == ("rejected", None)


async def test_the_same_event_delivered_twice_is_evaluated_and_published_once(stack: Stack) -> None:
    event = submitted()
    resent = event.model_copy(update={"id": uuid.uuid4()})  # the same application under a new event id
    async with stack.worker("evaluation") as worker:
        for message in (event, event, resent):
            await deliver(stack, message)
        await eventually(lambda: _at_least(worker.consumer.processed, 3), what="three deliveries")

    assert len(await stack.fetch("SELECT 1 FROM evaluation.evaluation")) == 1
    outbox = await stack.fetch("SELECT type FROM evaluation.outbox")
    assert [r["type"] for r in outbox] == ["evaluation.application_scored.v1"]
    inbox = await stack.fetch("SELECT event_id FROM evaluation.inbox")
    assert {r["event_id"] for r in inbox} == {event.id, resent.id}


async def test_an_eligible_p2_application_without_reviewers_waits_for_them_and_publishes_nothing(
        stack: Stack) -> None:
    event = submitted(program="P2", gpus_requested=16, planned_gpu_hours_per_month=8000)
    async with stack.worker("evaluation") as worker:
        await deliver(stack, event)
        await eventually(lambda: _at_least(worker.consumer.processed, 1), what="the delivery")

    [row] = await stack.fetch("SELECT status, score, failed_rules FROM evaluation.evaluation")
    assert (row["status"], row["score"], row["failed_rules"]) == ("awaiting_reviewers", None, "[]")
    assert await stack.fetch("SELECT 1 FROM evaluation.outbox") == []
