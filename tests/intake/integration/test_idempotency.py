"""`Idempotency-Key` on every POST, on the real database: replay, reuse with another body, a retry in flight."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from intake.adapters.idempotency import IdempotencySettings
from intake.entrypoints.idempotency import fingerprint
from support.auth import OPERATOR, bearer
from support.clock import ManualClock
from support.stack import Stack, eventually

Form = Callable[..., dict[str, Any]]
OpenCall = Callable[..., Awaitable[dict[str, Any]]]


def keyed(headers: dict[str, str], key: str = "retry-1") -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


@asynccontextmanager
async def call_held(stack: Stack, call_id: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """An operator's transaction holding the call's row, so a submission to it waits; yields its release."""
    blocker = await asyncpg.connect(stack.db_dsn)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM intake.call WHERE id = $1 FOR UPDATE", uuid.UUID(call_id))
        yield transaction.rollback
    finally:
        await blocker.close()


async def test_the_same_key_and_body_replay_the_first_response_and_submit_once(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        first = await api.post("/applications", json=a_form("P3"), headers=keyed(partner))
        retry = await api.post("/applications", json=a_form("P3"), headers=keyed(partner))
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 1


async def test_the_body_is_compared_as_json_so_key_order_does_not_matter(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    body = a_form("P3")
    reordered = json.dumps(dict(reversed(list(body.items()))))
    async with stack.api("intake") as api:
        first = await api.post("/applications", json=body, headers=keyed(partner))
        retry = await api.post("/applications", content=reordered,
                               headers={**keyed(partner), "Content-Type": "application/json"})
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json()["id"] == first.json()["id"]


async def test_the_same_key_with_another_body_is_refused_naming_the_key(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        await api.post("/applications", json=a_form("P3"), headers=keyed(partner))
        other = await api.post("/applications", json=a_form("P3", gpus_requested=8), headers=keyed(partner))
    assert other.status_code == 422
    assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 1


async def test_keys_are_scoped_per_partner(stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    another = uuid.uuid4()
    async with stack.api("intake") as api:
        mine = await api.post("/applications", json=a_form("P3"), headers=keyed(partner))
        theirs = await api.post("/applications", json=a_form("P3"), headers=keyed(bearer("partner", another)))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["partner_id"] == str(another)
    assert await stack.count("intake.application") == 2


async def test_keys_are_scoped_per_client_so_two_portals_of_one_partner_never_share_one(
        stack: Stack, a_form: Form, partner_id: uuid.UUID) -> None:
    portal, other_portal = (bearer("partner", partner_id, client_id=name) for name in ("portal-a", "portal-b"))
    async with stack.api("intake") as api:
        first = await api.post("/applications", json=a_form("P3"), headers=keyed(portal))
        second = await api.post("/applications", json=a_form("P3"), headers=keyed(other_portal))
        replayed = await api.post("/applications", json=a_form("P3"),
                                  headers=keyed(bearer("partner", partner_id, client_id="portal-a")))
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.content == first.content
    assert sorted(r["principal"] for r in await stack.fetch("SELECT principal FROM intake.idempotency_key")) == [
        "portal-a", "portal-b"]
    assert await stack.count("intake.application") == 2


async def test_a_retry_while_the_first_request_is_in_flight_is_a_conflict(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        body = a_form("P1", call_id=call["id"])
        async with call_held(stack, call["id"]) as release:  # the first submission waits on it, in flight
            first = asyncio.create_task(api.post("/applications", json=body, headers=keyed(partner)))
            await eventually(lambda: stack.fetch("SELECT 1 FROM intake.idempotency_key WHERE status = 'in_flight'"),
                             what="the first request to hold its key")
            retry = await api.post("/applications", json=body, headers=keyed(partner))
            await release()
            first_response = await first
        after = await api.post("/applications", json=body, headers=keyed(partner))
    assert retry.status_code == 409
    assert [e["field"] for e in retry.json()["errors"]] == ["Idempotency-Key"]
    assert first_response.status_code == 201
    assert after.headers["Idempotent-Replayed"] == "true" and after.content == first_response.content
    assert await stack.count("intake.application") == 1


async def test_a_first_request_that_outlives_the_in_flight_timeout_yields_to_the_retry_that_took_its_key_over(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall) -> None:
    held = "SELECT created_at FROM intake.idempotency_key WHERE status = 'in_flight'"
    async with stack.api("intake", idempotency=IdempotencySettings(in_flight_timeout_s=0.2)) as api:
        call = await open_call(api, "P1")
        body = a_form("P1", call_id=call["id"])
        async with call_held(stack, call["id"]) as release:  # the first request waits on it past the timeout
            first = asyncio.create_task(api.post("/applications", json=body, headers=keyed(partner)))
            [claimed] = await eventually(lambda: stack.fetch(held), what="the first request to hold its key")
            await asyncio.sleep(0.3)
            retry = asyncio.create_task(api.post("/applications", json=body, headers=keyed(partner)))
            await eventually(lambda: stack.fetch(held + " AND created_at > $1", claimed["created_at"]),
                             what="the retry to take the key over")
            await release()
            first_response, retry_response = await first, await retry
        after = await api.post("/applications", json=body, headers=keyed(partner))
    assert (first_response.status_code, retry_response.status_code) == (409, 201)
    assert after.headers["Idempotent-Replayed"] == "true" and after.content == retry_response.content
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 1


async def test_a_refused_request_gives_its_key_back_so_the_corrected_one_can_use_it(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        refused = await api.post("/applications", json=a_form("P3", acceptable_window_months=9),
                                 headers=keyed(partner))
        assert await stack.count("intake.idempotency_key") == 0
        corrected = await api.post("/applications", json=a_form("P3"), headers=keyed(partner))
    assert (refused.status_code, corrected.status_code) == (422, 201)


async def test_a_key_left_in_flight_by_a_request_that_died_is_taken_over_at_once(
        stack: Stack, a_form: Form, partner_id: uuid.UUID) -> None:
    """The request that died (killed between its claim and its commit) took its lock with its connection."""
    body = a_form("P3")
    partner = bearer("partner", partner_id, client_id="portal-a")
    await left_in_flight(stack, body, seconds_ago=5)
    async with stack.api("intake") as api:
        taken_over = await api.post("/applications", json=body, headers=keyed(partner))
    assert taken_over.status_code == 201, taken_over.text
    assert await stack.count("intake.application") == 1


async def test_a_key_whose_request_still_runs_is_taken_over_only_after_the_timeout(
        stack: Stack, a_form: Form, partner_id: uuid.UUID) -> None:
    body = a_form("P3")
    partner = bearer("partner", partner_id, client_id="portal-a")
    await left_in_flight(stack, body, seconds_ago=30)
    holder = await asyncpg.connect(stack.db_dsn)
    try:
        transaction = holder.transaction()  # a request still running holds its key's lock in its transaction
        await transaction.start()
        await holder.execute("SELECT pg_advisory_xact_lock(hashtextextended('portal-a' || chr(31) || 'retry-1', 0))")
        async with stack.api("intake") as api:
            still_running = await api.post("/applications", json=body, headers=keyed(partner))
        async with stack.api("intake", idempotency=IdempotencySettings(in_flight_timeout_s=10)) as api:
            taken_over = await api.post("/applications", json=body, headers=keyed(partner))
    finally:
        await holder.close()
    assert (still_running.status_code, taken_over.status_code) == (409, 201)
    assert await stack.count("intake.application") == 1


async def left_in_flight(stack: Stack, body: dict[str, Any], *, seconds_ago: float) -> None:
    digest = fingerprint("POST", "/applications?", json.dumps(body).encode())
    await stack.fetch("INSERT INTO intake.idempotency_key (principal, key, request_hash, status, created_at) "
                      "VALUES ('portal-a', 'retry-1', $1, 'in_flight', $2)", digest,
                      datetime.now(UTC) - timedelta(seconds=seconds_ago))


async def test_a_key_is_kept_for_the_retention_period_and_then_purged_by_the_worker(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with stack.api("intake", clock=clock) as api:
        await api.post("/applications", json=a_form("P3"), headers=keyed(partner, "old"))
        clock.advance(hours=25)  # past the retention period (24 h) of the first key, not of the second
        await api.post("/applications", json=a_form("P3"), headers=keyed(partner, "new"))
    async with stack.worker("intake", clock=clock):
        await eventually(lambda: stack.fetch("SELECT 1 WHERE NOT EXISTS "
                                             "(SELECT 1 FROM intake.idempotency_key WHERE key = 'old')"),
                         what="the expired key to be purged")
    assert [r["key"] for r in await stack.fetch("SELECT key FROM intake.idempotency_key")] == ["new"]


async def _every_post(api: httpx.AsyncClient, a_form: Form, partner: dict[str, str],
                      open_call: OpenCall) -> dict[str, tuple[str, str, dict[str, Any] | None, dict[str, str]]]:
    """Each POST route, ready to be called twice: (its path in the OpenAPI document, url, body, headers)."""
    call = await open_call(api, "P2")
    draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
    active = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
    window = {"opens_at": datetime.now(UTC).isoformat(),
              "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    return {
        "open-a-call": ("/calls", "/calls", {"program": "P1", "title": "P1 round", **window}, OPERATOR),
        "close-a-call": ("/calls/{call_id}/close", f"/calls/{call['id']}/close", None, OPERATOR),
        "create-an-application": ("/applications", "/applications", a_form("P3"), partner),
        "submit-a-draft": ("/applications/{application_id}/submit", f"/applications/{draft['id']}/submit", None,
                           partner),
        "withdraw": ("/applications/{application_id}/withdraw", f"/applications/{active['id']}/withdraw",
                     {"reason": "changed plans"}, partner),
        # a public address literal: registering it needs no DNS
        "register-a-webhook": ("/webhooks", "/webhooks", {"url": "https://93.184.215.14/hooks"}, partner),
    }


@pytest.mark.parametrize("route", ["open-a-call", "close-a-call", "create-an-application", "submit-a-draft",
                                   "withdraw", "register-a-webhook"])
async def test_every_post_replays_its_first_response_for_the_same_key(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall, route: str) -> None:
    async with stack.api("intake") as api:
        path, url, body, headers = (await _every_post(api, a_form, partner, open_call))[route]
        outbox_before = await stack.count("intake.outbox")
        first = await api.post(url, json=body, headers=keyed(headers, f"key-{route}"))
        outbox_after_first = await stack.count("intake.outbox")
        retry = await api.post(url, json=body, headers=keyed(headers, f"key-{route}"))
        spec = (await api.get("/openapi.json")).json()
    assert first.status_code in (200, 201), first.text
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await stack.count("intake.outbox") == outbox_after_first >= outbox_before
    operation = spec["paths"][path]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    assert {"409", "422"} <= set(operation["responses"])


async def test_client_secrets_and_access_tokens_never_enter_the_idempotency_store(stack: Stack) -> None:
    body = {"role": "partner", "name": "national portal"}
    async with stack.api("intake") as api:
        first = await api.post("/clients", json=body, headers=keyed(OPERATOR, "client-1"))
        second = await api.post("/clients", json=body, headers=keyed(OPERATOR, "client-1"))
        created = first.json()
        token = await api.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(created["client_id"], created["client_secret"]), headers={"Idempotency-Key": "t"})
    assert (first.status_code, second.status_code, token.status_code) == (201, 201, 200)
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["client_id"] != created["client_id"]  # not a replay of the first secret
    assert first.headers["Cache-Control"] == "no-store"
    assert await stack.count("intake.idempotency_key") == 0
