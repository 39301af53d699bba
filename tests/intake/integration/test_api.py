"""Intake's partner API on the real database and broker."""
from __future__ import annotations

import uuid
from typing import Any

from support.kafka import read_topic
from support.stack import Stack

PARTNER = {"X-Partner-Id": str(uuid.uuid4())}


def p3_application(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "program": "P3",
        "applicant": {"name": "Dr. Kim", "sector": "academia", "institution": "KAIST", "region": "Daejeon"},
        "gpus_requested": 4, "gpu_model": "H100", "period_start": "2026-12-01", "period_end": "2027-02-28",
        "planned_gpu_hours_per_month": 2000, "purpose": "fine-tuning a Korean LLM",
    }
    body.update(overrides)
    return body



async def test_a_submitted_application_is_stored_and_its_event_is_published(stack: Stack) -> None:
    async with stack.api("intake") as api, stack.worker("intake"):
        response = await api.post("/applications", json=p3_application(), headers=PARTNER)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "submitted"

        fetched = await api.get(f"/applications/{created['id']}", headers=PARTNER)
        assert fetched.json()["history"][0]["status"] == "submitted"

        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic("intake.applications.v1"))
    headers = {k: v.decode() for k, v in records[0].headers}
    assert headers["ce_type"] == "intake.application_submitted.v1"
    assert headers["ce_subject"] == created["id"]
    assert records[0].key.decode() == created["id"]


async def test_zero_gpus_is_refused_naming_the_field_and_nothing_is_stored(stack: Stack) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=p3_application(gpus_requested=0), headers=PARTNER)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["gpus_requested"]
    assert await stack.count("intake.application") == 0
    assert await stack.count("intake.outbox") == 0


async def test_an_unknown_program_and_a_missing_applicant_are_both_named(stack: Stack) -> None:
    body = p3_application(program="P9")
    del body["applicant"]
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=body, headers=PARTNER)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"program", "applicant"}
    assert await stack.count("intake.outbox") == 0


async def test_a_period_ending_before_it_starts_is_refused_by_the_domain(stack: Stack) -> None:
    body = p3_application(period_start="2027-03-01", period_end="2027-01-01")
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=body, headers=PARTNER)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "period_end"
    assert await stack.count("intake.application") == 0


async def test_another_partner_cannot_see_the_application(stack: Stack) -> None:
    async with stack.api("intake") as api:
        created = (await api.post("/applications", json=p3_application(), headers=PARTNER)).json()
        other = await api.get(f"/applications/{created['id']}", headers={"X-Partner-Id": str(uuid.uuid4())})
    assert other.status_code == 404


async def test_a_withdrawal_is_recorded_and_published(stack: Stack) -> None:
    async with stack.api("intake") as api:
        created = (await api.post("/applications", json=p3_application(), headers=PARTNER)).json()
        withdrawn = await api.post(f"/applications/{created['id']}/withdraw", json={"reason": "plans changed"},
                                   headers=PARTNER)
        again = await api.post(f"/applications/{created['id']}/withdraw", json={}, headers=PARTNER)
    assert withdrawn.json()["status"] == "withdrawn"
    assert again.status_code == 409
    assert await stack.count("intake.outbox") == 2
