"""Signed webhooks on the real database and a real receiving HTTP server on loopback: registration, Standard Webhooks
signatures checked with their reference library, retries with backoff, the delivery log, and who is told what.
Destinations and the log's retention: test_webhooks_destinations.py, test_webhooks_log.py."""
from __future__ import annotations

import asyncio
import itertools
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contracts import (
    ApplicationInReview,
    CreditNoteIssued,
    GpuSlot,
    InvoiceIssued,
    ReclaimWaived,
    ResourceAllocated,
    UtilizationDropped,
    UtilizationRecovered,
    to_record,
)
from intake.adapters.webhook_delivery import WebhookSettings
from intake.domain.webhooks import new_secret
from support.auth import bearer
from support.kafka import produce_raw
from support.stack import Stack, eventually

# a public address literal: registering it needs no DNS (names are resolved in test_webhooks_destinations.py)
PORTAL = "https://93.184.215.14"
Form = Callable[..., dict[str, Any]]
Stored = Callable[[], Awaitable[dict[str, int]]]
# the test receiver listens on loopback over plain http, which production refuses
FAST = WebhookSettings(first_delay_s=0.3, max_delay_s=5, max_attempts=5, poll_interval_s=0.05, timeout_s=3,
                       allow_private_networks=True, allow_http=True)


async def register(api: httpx.AsyncClient, partner: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
    response = await api.post("/webhooks", json={"url": url, **body}, headers=partner)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deliveries(api: httpx.AsyncClient, partner: dict[str, str], hook_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/webhooks/{hook_id}/deliveries", headers=partner)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as a partner makes it: with the Standard Webhooks reference library."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def test_a_status_change_is_posted_to_the_partners_webhook_signed_with_its_secret(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        hook = await register(api, partner, receiver.url(), description="portal")
        app = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
        await eventually(lambda: asyncio.sleep(0, receiver.requests), what="the delivery")
        (request,) = receiver.requests
        logged = await eventually(lambda: delivered(api, partner, hook["id"]), what="the log to show it delivered")
    assert hook["secret"].startswith("whsec_")
    assert signed_by(hook["secret"], request.headers, request.body)
    assert request.headers["webhook-signature"].startswith("v1,")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body == {"delivery_id": request.headers["webhook-id"], "event": "application.status_changed",
                    "application_id": app["id"], "status": "submitted", "reason": "", "at": body["at"]}
    (entry,) = logged
    assert (entry["id"], entry["state"], entry["attempts"], entry["last_status_code"]) == (
        request.headers["webhook-id"], "delivered", 1, 200)
    assert entry["delivered_at"] is not None and entry["next_attempt_at"] is None


async def test_a_tampered_body_a_moved_timestamp_or_another_secret_fails_the_partners_verification(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        hook = await register(api, partner, receiver.url())
        await api.post("/applications", json=a_form("P3"), headers=partner)
        await eventually(lambda: asyncio.sleep(0, receiver.requests), what="the delivery")
    (request,) = receiver.requests
    headers, body = request.headers, request.body
    Webhook(hook["secret"]).verify(body, headers)  # as delivered, it verifies
    moved = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}
    for secret, tampered_body, tampered_headers in [
            (hook["secret"], body.replace(b"submitted", b"selected"), headers), (hook["secret"], body, moved),
            (new_secret(), body, headers)]:
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(secret).verify(tampered_body, tampered_headers)


async def test_a_failing_receiver_gets_the_same_delivery_again_after_growing_waits(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    receiver.fail("/hook", 3)
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        hook = await register(api, partner, receiver.url())
        await api.post("/applications", json=a_form("P3"), headers=partner)
        retrying = await eventually(lambda: in_state(api, partner, hook["id"], "pending", attempts_at_least=1),
                                    what="a failed attempt in the log")
        logged = await eventually(lambda: delivered(api, partner, hook["id"]), timeout=20,
                                  what="the fourth attempt to get through")
    attempts = receiver.on("/hook")
    assert len(attempts) == 4
    assert len({r.headers["webhook-id"] for r in attempts}) == 1 and len({r.body for r in attempts}) == 1
    assert all(signed_by(hook["secret"], r.headers, r.body) for r in attempts)
    waits = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert all(wait >= backoff - 0.05 for wait, backoff in zip(waits, (0.3, 0.6, 1.2), strict=True)), waits
    assert (retrying[0]["last_status_code"], retrying[0]["next_attempt_at"] is not None) == (500, True)
    assert (logged[0]["attempts"], logged[0]["last_status_code"]) == (4, 200)


async def test_after_the_last_attempt_a_delivery_stays_failed_in_the_log(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    receiver.fail("/hook", -1)
    settings = FAST.model_copy(update={"first_delay_s": 0.1, "max_attempts": 3})
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=settings):
        hook = await register(api, partner, receiver.url())
        await api.post("/applications", json=a_form("P3"), headers=partner)
        (entry,) = await eventually(lambda: in_state(api, partner, hook["id"], "failed"), what="the failure")
        await asyncio.sleep(0.5)
        failed = await deliveries(api, partner, hook["id"])
    assert (entry["attempts"], entry["last_status_code"], entry["next_attempt_at"]) == (3, 500, None)
    assert len(receiver.on("/hook")) == 3  # and no more
    assert failed[0]["state"] == "failed"


async def test_a_webhook_into_a_private_network_is_refused_at_delivery_once_private_networks_are_disallowed(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    settings = FAST.model_copy(update={"first_delay_s": 0.1, "max_attempts": 2, "allow_private_networks": False})
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=settings):
        hook = await register(api, partner, receiver.url())
        await api.post("/applications", json=a_form("P3"), headers=partner)
        (entry,) = await eventually(lambda: in_state(api, partner, hook["id"], "failed"), what="the refusal")
    assert receiver.on("/hook") == []
    assert entry["last_error"] == "refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address, not a public one"


async def test_a_receiver_that_cannot_be_reached_is_logged_with_the_error(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = FAST.model_copy(update={"first_delay_s": 0.1, "max_attempts": 2})
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=settings):
        hook = await register(api, partner, f"http://127.0.0.1:{port}/hook")
        await api.post("/applications", json=a_form("P3"), headers=partner)
        (entry,) = await eventually(lambda: in_state(api, partner, hook["id"], "failed"), what="the failure")
    assert entry["attempts"] == 2
    assert entry["last_status_code"] is None
    assert entry["last_error"].startswith("ConnectError")


async def test_every_status_change_is_notified_including_those_other_services_bring(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        await register(api, partner, receiver.url())
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        await api.post(f"/applications/{draft['id']}/submit", headers=partner)
        review = ApplicationInReview(application_id=uuid.UUID(draft["id"]), reviewers=3)
        record = to_record(review, source="/gpu-platform/tests")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(review.topic), record.value, key=record.key,
                          headers=record.headers)
        await eventually(lambda: asyncio.sleep(0, len(receiver.requests) >= 3), what="three deliveries")
        await api.post(f"/applications/{draft['id']}/withdraw", json={"reason": "no longer needed"},
                       headers=partner)
        await eventually(lambda: asyncio.sleep(0, len(receiver.requests) == 4), what="the withdrawal's delivery")
    bodies = sorted((r.json() for r in receiver.requests), key=lambda b: b["at"])
    assert [(b["status"], b["reason"]) for b in bodies] == [
        ("draft", ""), ("submitted", ""), ("in_review", "3 reviewers assigned"), ("withdrawn", "no longer needed")]
    assert {b["application_id"] for b in bodies} == {draft["id"]}


async def test_telemetrys_warning_and_recovery_reach_the_partner_with_their_numbers(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        await register(api, partner, receiver.url())
        app_id = uuid.UUID((await api.post("/applications", json=a_form("P3"), headers=partner)).json()["id"])
        start = datetime.now(UTC) - timedelta(days=7)
        allocation = uuid.uuid4()
        for event in (ResourceAllocated(application_id=app_id, allocation_id=allocation, program="P3",
                                        gpu_model="H100", gpus=2, starts_at=start, ends_at=start + timedelta(days=90),
                                        slots=[GpuSlot(server_id=uuid.uuid4(), server_name="p3-gov-01", csp="gov",
                                                       gpu_index=i) for i in range(2)],
                                        planned_gpu_hours_per_month=730),
                      UtilizationDropped(application_id=app_id, allocation_id=allocation, level="warning",
                                         utilization_pct=4.25, threshold_pct=15, window_start=start,
                                         window_end=start + timedelta(days=7)),
                      UtilizationRecovered(application_id=app_id, allocation_id=allocation, utilization_pct=31.5,
                                           threshold_pct=15, window_start=start + timedelta(days=1),
                                           window_end=start + timedelta(days=8))):
            record = to_record(event, source="/gpu-platform/tests")
            await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                              headers=record.headers)
        await eventually(lambda: asyncio.sleep(0, len(receiver.requests) >= 4), what="four deliveries")
    bodies = sorted((r.json() for r in receiver.requests), key=lambda b: b["at"])
    assert [b["status"] for b in bodies] == ["submitted", "active", "active", "active"]
    warning, recovery = bodies[2]["reason"], bodies[3]["reason"]
    assert warning.startswith("utilization warning: 4.2% from") and "threshold of 15.0%" in warning
    assert recovery.startswith("utilization recovered: 31.5%") and "warning is lifted" in recovery
    assert {b["event"] for b in bodies} == {"application.status_changed"}


async def test_an_operators_waiver_of_the_reclaim_reaches_the_partner_and_the_status_stays_active(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        await register(api, partner, receiver.url())
        app_id = uuid.UUID((await api.post("/applications", json=a_form("P3"), headers=partner)).json()["id"])
        start, allocation = datetime.now(UTC) - timedelta(days=7), uuid.uuid4()
        allocated = ResourceAllocated(application_id=app_id, allocation_id=allocation, program="P3", gpu_model="H100",
                                      gpus=1, starts_at=start, ends_at=start + timedelta(days=90),
                                      slots=[GpuSlot(server_id=uuid.uuid4(), server_name="p3-gov-01", csp="gov",
                                                     gpu_index=0)], planned_gpu_hours_per_month=730)
        waived = ReclaimWaived(application_id=app_id, allocation_id=allocation, waived_at=datetime.now(UTC))
        for event in (allocated, waived):  # one topic and key: in this order
            record = to_record(event, source="/gpu-platform/tests")
            await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                              headers=record.headers)
        await eventually(lambda: asyncio.sleep(0, len(receiver.requests) >= 3), what="three deliveries")
        status = (await api.get(f"/applications/{app_id}", headers=partner)).json()["status"]
    bodies = sorted((r.json() for r in receiver.requests), key=lambda b: b["at"])
    assert [b["status"] for b in bodies] == ["submitted", "active", "active"]
    assert bodies[2]["reason"].startswith("reclaim waived by an operator") and status == "active"


async def test_billing_s_invoice_and_credit_note_reach_the_partner_s_webhook_and_no_other(
        stack: Stack, partner: dict[str, str], partner_id: uuid.UUID, receiver: Any) -> None:
    stranger = bearer("partner")
    application_id, issued = uuid.uuid4(), datetime(2027, 1, 1, 1, tzinfo=UTC)
    common: dict[str, Any] = {"partner_id": partner_id, "payer_kind": "participant", "payer_name": "Big Corp",
                              "month": date(2026, 12, 1), "application_ids": [application_id], "issued_at": issued}
    invoice = InvoiceIssued(document_id=uuid.uuid4(), number="INV-2027-000001", total_krw=2_976_000, **common)
    credit = CreditNoteIssued(document_id=uuid.uuid4(), number="CN-2027-000001", total_krw=2_976_000,
                              credits=["INV-2027-000001"], reason="open_source_release", **common)
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        hook = await register(api, partner, receiver.url("/mine"))
        await register(api, stranger, receiver.url("/theirs"))
        for event in (invoice, credit):
            record = to_record(event, source="/gpu-platform/billing")
            await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                              headers=record.headers)
        await eventually(lambda: asyncio.sleep(0, len(receiver.on("/mine")) >= 2), what="two deliveries")
        logged = await eventually(lambda: delivered(api, partner, hook["id"]), what="the log to show them")
    requests = receiver.on("/mine")
    assert all(signed_by(hook["secret"], r.headers, r.body) for r in requests)
    bodies = {r.json()["event"]: r.json() for r in requests}
    summary = {"payer_kind": "participant", "payer_name": "Big Corp", "month": "2026-12-01", "total_krw": 2_976_000,
               "application_ids": [str(application_id)], "at": issued.isoformat()}
    assert bodies["invoice.issued"] == {"delivery_id": bodies["invoice.issued"]["delivery_id"],
                                        "event": "invoice.issued", "document_id": str(invoice.document_id),
                                        "number": "INV-2027-000001", **summary}
    assert bodies["credit_note.issued"] == {"delivery_id": bodies["credit_note.issued"]["delivery_id"],
                                            "event": "credit_note.issued", "document_id": str(credit.document_id),
                                            "number": "CN-2027-000001", "credits": ["INV-2027-000001"],
                                            "reason": "open_source_release", **summary}
    assert sorted((e["event"], e["application_id"], e["payload"]["number"]) for e in logged) == [
        ("credit_note.issued", None, "CN-2027-000001"), ("invoice.issued", None, "INV-2027-000001")]
    assert receiver.on("/theirs") == []


async def test_another_partners_webhook_hears_nothing_of_this_partners_applications(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    stranger = bearer("partner")
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        mine = await register(api, partner, receiver.url("/mine"))
        theirs = await register(api, stranger, receiver.url("/theirs"))
        await api.post("/applications", json=a_form("P3"), headers=partner)
        await eventually(lambda: delivered(api, partner, mine["id"]), what="my delivery")
        their_log = await deliveries(api, stranger, theirs["id"])
    assert len(receiver.on("/mine")) == 1
    assert receiver.on("/theirs") == [] and their_log == []


async def test_removing_a_webhook_cancels_what_it_still_had_to_deliver(
        stack: Stack, a_form: Form, partner: dict[str, str], receiver: Any) -> None:
    receiver.fail("/hook", -1)
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        hook = await register(api, partner, receiver.url())
        app = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
        await eventually(lambda: in_state(api, partner, hook["id"], "pending", attempts_at_least=1),
                         what="a failed attempt")
        removed = await api.delete(f"/webhooks/{hook['id']}", headers=partner)
        again = await api.delete(f"/webhooks/{hook['id']}", headers=partner)
        await api.post(f"/applications/{app['id']}/withdraw", json={}, headers=partner)
        tried = len(receiver.requests)
        await asyncio.sleep(FAST.first_delay_s * 4)
        listed = (await api.get("/webhooks", headers=partner)).json()
        log = await api.get(f"/webhooks/{hook['id']}/deliveries", headers=partner)
    assert (removed.status_code, again.status_code, log.status_code) == (204, 404, 404)
    assert listed == {"items": [], "next_cursor": None}
    assert [r["state"] for r in await stack.fetch("SELECT state FROM intake.webhook_delivery")] == ["cancelled"]
    assert len(receiver.requests) == tried


async def test_two_workers_send_each_delivery_once(stack: Stack, a_form: Form, partner: dict[str, str],
                                                   receiver: Any) -> None:
    settings = FAST.model_copy(update={"poll_interval_s": 0.01, "batch_size": 3})
    async with stack.api("intake", webhooks=FAST) as api:
        await register(api, partner, receiver.url())
        for _ in range(20):
            await api.post("/applications", json=a_form("P3"), headers=partner)
        async with stack.worker("intake", webhooks=settings), stack.worker("intake", webhooks=settings):
            await eventually(lambda: asyncio.sleep(0, len(receiver.requests) >= 20), what="twenty deliveries")
            await asyncio.sleep(0.5)  # time for a double send to show
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 20


@pytest.mark.parametrize("url", ["ftp://portal.example.kr/hook", "javascript:alert(1)", "portal.example.kr/hook",
                                 "https://user:password@portal.example.kr/hook", "http://", "http://[::1/hook"])
async def test_only_an_http_or_https_url_is_registered(stack: Stack, partner: dict[str, str], url: str) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/webhooks", json={"url": url}, headers=partner)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["url"]
    assert await stack.count("intake.webhook") == 0


async def test_the_secret_is_shown_when_the_webhook_is_registered_and_never_listed(
        stack: Stack, partner: dict[str, str], partner_id: uuid.UUID) -> None:
    async with stack.api("intake") as api:
        created = await api.post("/webhooks", json={"url": f"{PORTAL}/hook", "description": "main"},
                                 headers=partner)
        listed = (await api.get("/webhooks", headers=partner)).json()
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    assert len(created.json()["secret"]) > 40
    assert listed["items"] == [{k: v for k, v in created.json().items() if k != "secret"}]
    assert listed["items"][0]["partner_id"] == str(partner_id)


async def test_a_partner_has_at_most_the_configured_number_of_webhooks(stack: Stack, partner: dict[str, str]) -> None:
    async with stack.api("intake", webhooks=WebhookSettings(max_per_partner=2)) as api:
        first, _ = [await register(api, partner, f"{PORTAL}/{i}") for i in range(2)]
        third = await api.post("/webhooks", json={"url": f"{PORTAL}/3"}, headers=partner)
        await api.delete(f"/webhooks/{first['id']}", headers=partner)
        after_removal = await api.post("/webhooks", json={"url": f"{PORTAL}/3"}, headers=partner)
    assert (third.status_code, after_removal.status_code) == (409, 201)


async def test_a_refused_application_notifies_nobody(stack: Stack, a_form: Form, partner: dict[str, str],
                                                     stored: Stored) -> None:
    async with stack.api("intake") as api:
        await register(api, partner, f"{PORTAL}/hook")
        response = await api.post("/applications", json=a_form("P3", gpus_requested=0), headers=partner)
    assert response.status_code == 422
    assert set((await stored()).values()) == {0}


async def in_state(api: httpx.AsyncClient, partner: dict[str, str], hook_id: str, state: str,
                   attempts_at_least: int = 0) -> list[dict[str, Any]] | None:
    found = await deliveries(api, partner, hook_id)
    ok = found and all(d["state"] == state and d["attempts"] >= attempts_at_least for d in found)
    return found if ok else None


async def delivered(api: httpx.AsyncClient, partner: dict[str, str], hook_id: str) -> list[dict[str, Any]] | None:
    return await in_state(api, partner, hook_id, "delivered")
