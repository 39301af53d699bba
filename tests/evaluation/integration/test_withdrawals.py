"""Withdrawals on the real database and broker: intake's `ApplicationWithdrawn` ends the evaluation and its panel,
the reviewers' load drops, a review for it is a 409, no score goes out, and its round completes without it."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from contracts import (
    Applicant,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CallClosed,
    Company,
    Event,
    RoundScored,
    from_record,
    to_record,
    topics,
)
from evaluation.entrypoints.consumer import TRANSLATIONS
from support.auth import OPERATOR, bearer
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

SCORES = {"technical_social_impact": 80, "ai_ecosystem_contribution": 70, "capability_readiness": 90}
OPENS, CLOSES = datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 4, 24, 9, 0, tzinfo=UTC)


def p1(call_id: uuid.UUID) -> ApplicationSubmitted:
    """An eligible P1 application of a Busan youth startup (80 from the reviews above is 86 with both bonuses)."""
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P1", call_id=call_id,
        applicant=Applicant(name="Hong Gildong", sector="industry", institution=f"Startup {uuid.uuid4().hex[:6]}",
                            region="Busan"),
        company=Company(business_registration_number="1234567891", size="startup", head_office_region="Busan",
                        representative_birth_date=date(1992, 5, 1)),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, purpose="real-time inference", occurred_at=datetime(2026, 4, 10, tzinfo=UTC))


def closed(call_id: uuid.UUID, *events: ApplicationSubmitted) -> CallClosed:
    return CallClosed(call_id=call_id, program="P1", opens_at=OPENS, closes_at=CLOSES,
                      application_ids=[e.application_id for e in events])


def withdrawn(event: ApplicationSubmitted) -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=event.application_id, reason="the project was cancelled")


async def deliver(stack: Stack, event: Event) -> None:
    record = to_record(event, source="/gpu-platform/intake")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                      headers=record.headers)


async def handle(stack: Stack, *events: Event) -> None:
    """Each event through evaluation's consumer map and bus, under its own id, as the worker would."""
    await stack.handle("evaluation", *(TRANSLATIONS[type(e)](e) for e in events))


async def register(api: httpx.AsyncClient, *names: str) -> dict[str, str]:
    ids = {}
    for name in names:
        response = await api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


async def status_of(api: httpx.AsyncClient, event: ApplicationSubmitted) -> str | None:
    answer = await api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)
    return answer.json()["status"] if answer.status_code == 200 else None


async def has_status(api: httpx.AsyncClient, event: ApplicationSubmitted, expected: str) -> bool:
    return await status_of(api, event) == expected


async def panel_of(api: httpx.AsyncClient, event: ApplicationSubmitted) -> list[str]:
    panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
    return [m["reviewer_name"] for m in panel["assigned"]]


async def reviewed(api: httpx.AsyncClient, event: ApplicationSubmitted, reviewer_id: str) -> httpx.Response:
    return await api.post("/reviews", json={"application_id": str(event.application_id), "scores": SCORES},
                          headers=bearer("reviewer", reviewer_id))


async def outbox(stack: Stack, type_: str) -> list[dict[str, Any]]:
    rows = await stack.fetch("SELECT payload FROM evaluation.outbox WHERE type = $1 ORDER BY seq", type_)
    return [json.loads(r["payload"]) for r in rows]


async def open_load(stack: Stack) -> dict[str, int]:
    """Each reviewer's open assignments, by name, as the next panel's choice counts them."""
    rows = await stack.fetch(
        "SELECT r.name, count(*) AS n FROM evaluation.review_assignment a "
        "JOIN evaluation.reviewer r ON r.id = a.reviewer_id "
        "JOIN evaluation.evaluation e ON e.application_id = a.application_id "
        "WHERE a.reviewed_at IS NULL AND a.ended_at IS NULL AND e.status = 'in_review' GROUP BY r.name")
    return {r["name"]: r["n"] for r in rows}


async def test_a_withdrawn_application_leaves_its_panel_is_refused_a_review_and_its_round_completes_without_it(
        stack: Stack) -> None:
    call_id = uuid.uuid4()
    leaving, staying, later = p1(call_id), p1(call_id), p1(uuid.uuid4())
    async with stack.api("evaluation") as api, stack.worker("evaluation"):
        reviewers = await register(api, "Ahn", "Baek", "Cho", "Dong")
        await deliver(stack, leaving)
        await eventually(lambda: status_of(api, leaving), what="the first panel")
        await deliver(stack, staying)
        await eventually(lambda: status_of(api, staying), what="the second panel")
        load_before = await open_load(stack)
        await deliver(stack, withdrawn(leaving))
        await eventually(lambda: has_status(api, leaving, "withdrawn"), what="the withdrawal")
        load_after = await open_load(stack)
        await deliver(stack, later)
        await eventually(lambda: status_of(api, later), what="the next panel")
        refused = await reviewed(api, leaving, reviewers["Ahn"])
        accepted = await reviewed(api, staying, reviewers["Ahn"])
        await deliver(stack, closed(call_id, leaving, staying))
        [record] = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.ROUNDS))
        panels = {e.application_id: await panel_of(api, e) for e in (leaving, staying, later)}
        ahn_s = (await api.get(f"/reviewers/{reviewers['Ahn']}/assignments", headers=OPERATOR)).json()
        round_view = (await api.get(f"/rounds/{call_id}", headers=OPERATOR)).json()

    assert panels == {leaving.application_id: ["Ahn", "Baek", "Cho"], staying.application_id: ["Ahn", "Baek", "Dong"],
                      later.application_id: ["Ahn", "Baek", "Cho"]}  # without the withdrawal: Ahn, Cho, Dong
    assert load_before == {"Ahn": 2, "Baek": 2, "Cho": 1, "Dong": 1}
    assert load_after == {"Ahn": 1, "Baek": 1, "Dong": 1}
    ended = await stack.fetch("SELECT ended_at FROM evaluation.review_assignment WHERE application_id = $1",
                              leaving.application_id)
    assert len(ended) == 3 and all(r["ended_at"] is not None for r in ended)
    assert {(a["application_id"], a["status"]) for a in ahn_s} >= {(str(leaving.application_id), "withdrawn")}
    assert refused.status_code == 409, refused.text
    assert f"application {leaving.application_id} is withdrawn" in refused.json()["detail"]
    assert accepted.status_code == 201, accepted.text
    round_scored = from_record(record.headers, record.value)
    assert isinstance(round_scored, RoundScored)
    assert (round_scored.scored, round_scored.rejected) == ([staying.application_id], [])
    assert round_view["undecided"] == []                          # the withdrawn one waits for nothing either
    assert [p["application_id"] for p in await outbox(stack, "evaluation.application_scored.v1")] == [
        str(staying.application_id)]
    assert await outbox(stack, "evaluation.application_rejected.v1") == []
    assert await stack.count("evaluation.withdrawal") == 1


async def test_a_withdrawal_before_the_submission_lets_the_waiting_round_complete_and_keeps_the_arrival_quiet(
        stack: Stack) -> None:
    call_id = uuid.uuid4()
    arrived, parked = p1(call_id), p1(call_id)  # `parked`: its submission is late (parked, re-driven later)
    async with stack.api("evaluation") as api:
        await register(api, "Ahn", "Baek", "Cho")
        await handle(stack, arrived, closed(call_id, arrived, parked))
        waiting = await outbox(stack, "evaluation.round_scored.v1")
        await handle(stack, withdrawn(parked))
        reported = await outbox(stack, "evaluation.round_scored.v1")
        await handle(stack, parked, withdrawn(parked))  # the re-driven submission, then the withdrawal sent again
        status = await status_of(api, parked)

    assert waiting == []
    assert [(r["scored"], r["rejected"]) for r in reported] == [([], [str(arrived.application_id)])]
    assert status == "withdrawn"
    assert await outbox(stack, "evaluation.round_scored.v1") == reported  # reported once
    sent_for_parked = await stack.fetch("SELECT type FROM evaluation.outbox WHERE payload::jsonb->>'application_id'"
                                        " = $1", str(parked.application_id))
    assert sent_for_parked == []  # neither in review nor scored nor rejected
    assert await stack.fetch("SELECT 1 FROM evaluation.review_assignment WHERE application_id = $1",
                             parked.application_id) == []
    assert await stack.count("evaluation.withdrawal") == 1
