"""Offers of freed capacity as the partner sees them, on the real database and broker: allocation's offer and its
expiry, the partner's answer through the API, refusals, replays, and the webhook."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contracts import (
    ApplicationWaitlisted,
    Event,
    OfferDeclined,
    OfferExpired,
    OfferMade,
    from_record,
    to_record,
    topics,
)
from intake.adapters.webhook_delivery import WebhookSettings
from intake.domain.commands import RecordOutcome
from intake.domain.forms import PROGRAM_ZONE
from intake.domain.model import Status
from intake.entrypoints.consumer import TRANSLATIONS
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

Form = Callable[..., dict[str, Any]]
MakeOffer = Callable[..., Awaitable[OfferMade]]
Outbox = Callable[[], Awaitable[list[dict[str, Any]]]]
FAST = WebhookSettings(first_delay_s=0.3, max_delay_s=5, max_attempts=5, poll_interval_s=0.05, timeout_s=3,
                       allow_private_networks=True, allow_http=True)  # the test receiver: http on loopback


async def submitted(api: httpx.AsyncClient, partner: dict[str, str], a_form: Form) -> str:
    response = await api.post("/applications", json=a_form("P3"), headers=partner)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def waitlist(stack: Stack, app_id: str) -> None:
    event = ApplicationWaitlisted(application_id=uuid.UUID(app_id), program="P3", reason="no idle window fits now")
    await stack.handle("intake", TRANSLATIONS[ApplicationWaitlisted](event))


async def expire(stack: Stack, made: OfferMade) -> None:
    event = OfferExpired(application_id=made.application_id, offer_id=made.offer_id)
    await stack.handle("intake", TRANSLATIONS[OfferExpired](event))


async def fetch(api: httpx.AsyncClient, app_id: str, partner: dict[str, str]) -> dict[str, Any]:
    response = await api.get(f"/applications/{app_id}", headers=partner)
    assert response.status_code == 200, response.text
    return dict(response.json())


def answer(api: httpx.AsyncClient, app_id: str, what: str, headers: dict[str, str],
           **body: Any) -> Awaitable[httpx.Response]:
    return api.post(f"/applications/{app_id}/offer/{what}", json=body, headers=headers)


async def test_an_offer_makes_a_waitlisted_application_offered_naming_the_gpus_period_and_expiry(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer) -> None:
    async with stack.api("intake") as api:
        app_id = await submitted(api, partner, a_form)
        await waitlist(stack, app_id)
        made = await make_offer(app_id, expires_at=datetime(2026, 12, 30, 9, 0, tzinfo=UTC))
        body = await fetch(api, app_id, partner)
        [listed] = (await api.get("/applications", headers=partner)).json()["items"]
    assert body["status"] == "offered"
    assert [(h["status"], h["reason"]) for h in body["history"]] == [
        ("submitted", ""), ("waitlisted", "no idle window fits now"),
        ("offered", "offered 4 H100 GPUs from 2026-12-01 00:00 KST to 2027-03-01 00:00 KST; "
                    "answer by 2026-12-30 18:00 KST")]
    offer = body["offer"]
    assert (offer["id"], offer["gpu_model"], offer["gpus"], offer["state"]) == (str(made.offer_id), "H100", 4, "open")
    assert datetime.fromisoformat(offer["expires_at"]) == made.expires_at
    assert datetime.fromisoformat(offer["made_at"]) == made.occurred_at
    assert (offer["answered_at"], offer["decline_reason"]) == (None, "")
    assert listed["offer"] == offer  # lists show it too


async def test_an_offer_arriving_after_the_gpus_were_allocated_changes_nothing(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer) -> None:
    async with stack.api("intake") as api:
        app_id = await submitted(api, partner, a_form)
        await stack.handle("intake", RecordOutcome(uuid.UUID(app_id), Status.ACTIVE, "4 GPUs allocated",
                                                   datetime.now(UTC)))
        await make_offer(app_id)
        body = await fetch(api, app_id, partner)
    assert (body["status"], body["offer"]) == ("active", None)
    assert [h["status"] for h in body["history"]] == ["submitted", "active"]
    assert await stack.count("intake.offer") == 0


async def test_an_offer_left_to_expire_declines_the_application_and_can_no_longer_be_answered(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer, outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        app_id = await submitted(api, partner, a_form)
        made = await make_offer(app_id)
        await expire(stack, made)
        await expire(stack, made)  # the same expiry under another event id
        late = await answer(api, app_id, "accept", partner)
        body = await fetch(api, app_id, partner)
    assert (body["status"], body["status_reason"], body["offer"]["state"]) == (
        "declined", "offer expired unanswered", "expired")
    assert [h["status"] for h in body["history"]] == ["submitted", "offered", "declined"]
    assert late.status_code == 409
    assert [e["type"] for e in await outbox()] == ["intake.application_submitted.v1"]  # allocation knows already


async def test_an_accepted_offer_is_published_and_the_allocation_then_makes_the_application_active(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer, outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        app_id = await submitted(api, partner, a_form)
        made = await make_offer(app_id)
        accepted = await answer(api, app_id, "accept", partner)
        await stack.handle("intake", RecordOutcome(uuid.UUID(app_id), Status.ACTIVE, "4 GPUs allocated",
                                                   datetime.now(UTC)))
        await expire(stack, made)  # allocation's timer, late: the answer came in time
        body = await fetch(api, app_id, partner)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["offer"]["state"]) == ("accepted", "accepted")
    assert accepted.json()["offer"]["answered_at"] is not None
    assert [(e["type"], e.get("offer_id")) for e in await outbox()] == [
        ("intake.application_submitted.v1", None), ("intake.offer_accepted.v1", str(made.offer_id))]
    assert [(h["status"], h["reason"]) for h in body["history"]][2:] == [
        ("accepted", "offer accepted"), ("active", "4 GPUs allocated")]
    assert (body["status"], body["offer"]["state"]) == ("active", "accepted")


MOVED = "the project moved to another cloud"


async def test_a_declined_offer_is_published_with_the_reason_and_the_application_leaves_the_waitlist(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer, outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        with_reason, without = await submitted(api, partner, a_form), await submitted(api, partner, a_form)
        made, other = await make_offer(with_reason), await make_offer(without)
        declined = await answer(api, with_reason, "decline", partner, reason=MOVED)
        bare = await api.post(f"/applications/{without}/offer/decline", headers=partner)  # no body at all
    assert declined.status_code == bare.status_code == 200, (declined.text, bare.text)
    body = declined.json()
    assert (body["status"], body["status_reason"]) == ("declined", f"offer declined: {MOVED}")
    assert (body["offer"]["state"], body["offer"]["decline_reason"]) == ("declined", MOVED)
    assert (bare.json()["status"], bare.json()["status_reason"]) == ("declined", "offer declined")
    answers = [(e["application_id"], e["offer_id"], e["reason"]) for e in await outbox()
               if e["type"] == "intake.offer_declined.v1"]
    assert answers == [(with_reason, str(made.offer_id), MOVED),
                       (without, str(other.offer_id), "")]


async def test_an_answer_without_an_open_offer_is_refused_naming_the_offer_and_changes_nothing(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer, outbox: Outbox) -> None:
    lapsed_at = datetime.now(UTC) - timedelta(minutes=1)
    async with stack.api("intake") as api:
        none, lapsed, answered, withdrawn = [await submitted(api, partner, a_form) for _ in range(4)]
        await make_offer(lapsed, expires_at=lapsed_at)
        await make_offer(answered)
        await make_offer(withdrawn)
        await answer(api, answered, "accept", partner)
        await api.post(f"/applications/{withdrawn}/withdraw", json={}, headers=partner)
        before = (await stack.fetch("SELECT id, status FROM intake.application ORDER BY id"), await outbox())
        refusals = {name: await answer(api, app_id, what, partner) for name, app_id, what in (
            ("none", none, "accept"), ("lapsed", lapsed, "decline"), ("answered", answered, "decline"),
            ("answered-twice", answered, "accept"), ("withdrawn", withdrawn, "accept"))}
        after = (await stack.fetch("SELECT id, status FROM intake.application ORDER BY id"), await outbox())
    assert {name: r.status_code for name, r in refusals.items()} == dict.fromkeys(refusals, 409)
    reasons = {name: r.json()["errors"] for name, r in refusals.items()}
    assert all([e["field"] for e in errors] == ["offer"] for errors in reasons.values()), reasons
    assert "has no offer" in reasons["none"][0]["reason"]
    assert f"expired at {lapsed_at.astimezone(PROGRAM_ZONE):%Y-%m-%d %H:%M} KST" in reasons["lapsed"][0]["reason"]
    assert "was accepted already" in reasons["answered"][0]["reason"]
    assert "is withdrawn" in reasons["withdrawn"][0]["reason"]
    assert after == before


async def test_a_decline_reason_over_500_characters_or_a_field_on_accept_is_refused_naming_it(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer) -> None:
    async with stack.api("intake") as api:
        app_id = await submitted(api, partner, a_form)
        await make_offer(app_id)
        long = await answer(api, app_id, "decline", partner, reason="x" * 501)
        extra = await answer(api, app_id, "accept", partner, reason="why not")
        body = await fetch(api, app_id, partner)
    assert (long.status_code, extra.status_code) == (422, 422)
    assert [e["field"] for e in long.json()["errors"]] == [e["field"] for e in extra.json()["errors"]] == ["reason"]
    assert (body["status"], body["offer"]["state"]) == ("offered", "open")


async def test_a_retried_answer_with_the_same_key_replays_the_first_and_publishes_once(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer, outbox: Outbox) -> None:
    keyed = {**partner, "Idempotency-Key": "answer-1"}
    async with stack.api("intake") as api:
        app_id = await submitted(api, partner, a_form)
        await make_offer(app_id)
        first = await answer(api, app_id, "accept", keyed)
        retry = await answer(api, app_id, "accept", keyed)
        unkeyed = await answer(api, app_id, "accept", partner)
        other = await answer(api, app_id, "decline", keyed)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.content == first.content and retry.headers["Idempotent-Replayed"] == "true"
    assert unkeyed.status_code == 409  # a new request: the offer is answered
    assert (other.status_code, [e["field"] for e in other.json()["errors"]]) == (422, ["Idempotency-Key"])
    assert [e["type"] for e in await outbox()].count("intake.offer_accepted.v1") == 1


async def test_the_partners_webhook_is_told_of_the_offer_with_what_it_offers(
        stack: Stack, a_form: Form, partner: dict[str, str], make_offer: MakeOffer, receiver: Any) -> None:
    async with stack.api("intake", webhooks=FAST) as api, stack.worker("intake", webhooks=FAST):
        hook = await api.post("/webhooks", json={"url": receiver.url()}, headers=partner)
        assert hook.status_code == 201, hook.text
        app_id = await submitted(api, partner, a_form)
        made = await make_offer(app_id)
        await eventually(lambda: asyncio.sleep(0, len(receiver.requests) >= 2), what="two deliveries")
    bodies = sorted((r.json() for r in receiver.requests), key=lambda b: b["at"])
    assert [(b["application_id"], b["status"]) for b in bodies] == [(app_id, "submitted"), (app_id, "offered")]
    assert bodies[1]["reason"].startswith("offered 4 H100 GPUs from 2026-12-01")
    assert datetime.fromisoformat(bodies[1]["at"]) == made.occurred_at


async def publish(stack: Stack, event: Event) -> None:
    """An event as allocation's relay sends it: a CloudEvents record on the (prefixed) topic."""
    record = to_record(event, source="/gpu-platform/allocation")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                      headers=record.headers)


def offer_for(app_id: str) -> OfferMade:
    return OfferMade(application_id=uuid.UUID(app_id), offer_id=uuid.uuid4(), program="P3", gpu_model="H100",
                     gpus=4, starts_at=datetime(2026, 12, 1, tzinfo=PROGRAM_ZONE),
                     ends_at=datetime(2027, 3, 1, tzinfo=PROGRAM_ZONE),
                     expires_at=datetime.now(UTC) + timedelta(days=3))


async def status_of(api: httpx.AsyncClient, app_id: str, partner: dict[str, str], status: str) -> bool:
    return bool((await fetch(api, app_id, partner))["status"] == status)


async def test_the_worker_records_offers_and_expiries_from_allocations_topic_and_relays_the_answer(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api, stack.worker("intake"):
        lapsing, answered = await submitted(api, partner, a_form), await submitted(api, partner, a_form)
        lapsing_offer, answered_offer = offer_for(lapsing), offer_for(answered)
        for event in (lapsing_offer, answered_offer):
            await publish(stack, event)
        for app_id in (lapsing, answered):
            await eventually(lambda a=app_id: status_of(api, a, partner, "offered"), what="the offers")
        await publish(stack, OfferExpired(application_id=lapsing_offer.application_id,
                                          offer_id=lapsing_offer.offer_id))
        declined = await answer(api, answered, "decline", partner, reason="not needed any more")
        await eventually(lambda: status_of(api, lapsing, partner, "declined"), what="the expiry")
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), at_least=3)
    assert declined.status_code == 200, declined.text
    [published] = [e for e in (from_record(r.headers, r.value) for r in records) if isinstance(e, OfferDeclined)]
    assert (published.application_id, published.offer_id, published.reason) == (
        answered_offer.application_id, answered_offer.offer_id, "not needed any more")
