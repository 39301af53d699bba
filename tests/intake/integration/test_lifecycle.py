"""An application's life cycle through the API and the worker: drafts, review, outcomes, withdrawal."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx

from contracts import (
    ApplicationInReview,
    ApplicationScored,
    Event,
    GpuSlot,
    ResourceAllocated,
    to_record,
)
from support.auth import OPERATOR, bearer
from support.kafka import produce_raw
from support.stack import Stack, eventually

Form = Callable[..., dict[str, Any]]
Outbox = Callable[[], Awaitable[list[dict[str, Any]]]]


async def publish(stack: Stack, event: Event) -> None:
    """An event as its owner's relay sends it: a CloudEvents record on the (prefixed) topic."""
    record = to_record(event, source="/gpu-platform/tests")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                      headers=record.headers)


async def status_becomes(api: httpx.AsyncClient, app_id: str, partner: dict[str, str], status: str) -> None:
    async def probe() -> bool:
        return bool((await api.get(f"/applications/{app_id}", headers=partner)).json()["status"] == status)

    await eventually(probe, what=f"the application to be {status}")


def allocated(app_id: str) -> ResourceAllocated:
    slots = [GpuSlot(server_id=uuid.uuid4(), server_name="p3-01", csp="gov", gpu_index=i) for i in range(4)]
    return ResourceAllocated(
        application_id=uuid.UUID(app_id), allocation_id=uuid.uuid4(), program="P3", gpu_model="H100", gpus=4,
        slots=slots, starts_at=datetime(2026, 12, 1, tzinfo=UTC), ends_at=datetime(2027, 2, 28, tzinfo=UTC),
        planned_gpu_hours_per_month=2000)


async def test_a_draft_is_stored_without_an_event_until_it_is_submitted(
        stack: Stack, a_form: Form, partner: dict[str, str], outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        assert (draft["status"], draft["submitted_at"]) == ("draft", None)
        assert await outbox() == []
        submitted = await api.post(f"/applications/{draft['id']}/submit", headers=partner)
        again = await api.post(f"/applications/{draft['id']}/submit", headers=partner)
        history = (await api.get(f"/applications/{draft['id']}", headers=partner)).json()["history"]
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted" and submitted.json()["submitted_at"] is not None
    assert again.status_code == 409
    assert [h["status"] for h in history] == ["draft", "submitted"]
    assert [(e["type"], e["application_id"]) for e in await outbox()] == [
        ("intake.application_submitted.v1", draft["id"])]


async def test_a_draft_whose_call_closed_cannot_be_submitted(
        stack: Stack, a_form: Form, partner: dict[str, str], outbox: Outbox,
        open_call: Callable[..., Awaitable[dict[str, Any]]]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        draft = (await api.post("/applications", json=a_form("P1", call_id=call["id"], submit=False),
                                headers=partner)).json()
        await api.post(f"/calls/{call['id']}/close", headers=OPERATOR)
        refused = await api.post(f"/applications/{draft['id']}/submit", headers=partner)
        after = (await api.get(f"/applications/{draft['id']}", headers=partner)).json()
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["call_id"]
    assert after["status"] == "draft"
    assert [e["type"] for e in await outbox()] == ["intake.call_closed.v1"]


async def test_a_withdrawn_draft_publishes_nothing(stack: Stack, a_form: Form, partner: dict[str, str],
                                                   outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        withdrawn = await api.post(f"/applications/{draft['id']}/withdraw", json={}, headers=partner)
    assert withdrawn.json()["status"] == "withdrawn"
    assert await outbox() == []


async def test_review_then_score_move_the_application_forward_and_a_late_review_does_not_move_it_back(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api, stack.worker("intake"):
        app_id = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()["id"]
        await publish(stack, ApplicationInReview(application_id=uuid.UUID(app_id), reviewers=3))
        await status_becomes(api, app_id, partner, "in_review")
        await publish(stack, ApplicationScored(
            application_id=uuid.UUID(app_id), program="P3", score=77.5, policy_version="2026.1",
            institution="KAIST", gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1),
            period_end=date(2027, 2, 28), planned_gpu_hours_per_month=2000))
        await status_becomes(api, app_id, partner, "scored")
        await publish(stack, ApplicationInReview(application_id=uuid.UUID(app_id), reviewers=3))
        late = ApplicationScored(application_id=uuid.UUID(app_id), program="P3", score=1.0, policy_version="x",
                                 institution="KAIST", gpus_requested=4, gpu_model="H100",
                                 period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
                                 planned_gpu_hours_per_month=2000)
        await publish(stack, late)  # a marker: once it is processed, the late review was too
        await eventually(lambda: stack.fetch("SELECT 1 FROM intake.inbox WHERE event_id = $1", late.id),
                         what="the late events to be processed")
        fetched = (await api.get(f"/applications/{app_id}", headers=partner)).json()
    assert fetched["status"] == "scored"
    assert [h["status"] for h in fetched["history"]] == ["submitted", "in_review", "scored"]
    assert fetched["history"][1]["reason"] == "3 reviewers assigned"


async def test_a_withdrawal_after_allocation_is_published_so_that_the_gpus_are_freed(
        stack: Stack, a_form: Form, partner: dict[str, str], outbox: Outbox) -> None:
    async with stack.api("intake") as api, stack.worker("intake"):
        app_id = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()["id"]
        await publish(stack, allocated(app_id))
        await status_becomes(api, app_id, partner, "active")
        withdrawn = await api.post(f"/applications/{app_id}/withdraw", json={"reason": "project cancelled"},
                                   headers=partner)
    assert withdrawn.json()["status"] == "withdrawn"
    assert [(e["type"], e.get("reason")) for e in await outbox()] == [
        ("intake.application_submitted.v1", None), ("intake.application_withdrawn.v1", "project cancelled")]


async def test_another_partner_can_neither_submit_nor_withdraw_nor_list_an_application(
        stack: Stack, a_form: Form, partner: dict[str, str], outbox: Outbox) -> None:
    stranger = bearer("partner")
    async with stack.api("intake") as api:
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        submitted = await api.post(f"/applications/{draft['id']}/submit", headers=stranger)
        withdrawn = await api.post(f"/applications/{draft['id']}/withdraw", json={}, headers=stranger)
        fetched = await api.get(f"/applications/{draft['id']}", headers=stranger)
        listed = (await api.get("/applications", headers=stranger)).json()
        mine = (await api.get(f"/applications/{draft['id']}", headers=partner)).json()
    assert (submitted.status_code, withdrawn.status_code, fetched.status_code) == (404, 404, 404)
    assert listed == {"items": [], "next_cursor": None}
    assert mine["status"] == "draft"
    assert await outbox() == []
