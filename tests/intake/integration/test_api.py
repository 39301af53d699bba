"""Intake's partner API on the real database and broker: submission, its event, refusals and withdrawal."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from support.auth import OPERATOR, bearer
from support.kafka import read_topic
from support.stack import Stack

Form = Callable[..., dict[str, Any]]
# clients get their token and the keys to check it there; probes have none
UNAUTHENTICATED = {"/oauth/token", "/healthz", "/readyz", "/.well-known/jwks.json",
                   "/.well-known/oauth-authorization-server"}


async def test_a_submitted_application_is_stored_and_its_event_is_published(stack: Stack, a_form: Form,
                                                                             partner: dict[str, str]) -> None:
    async with stack.api("intake") as api, stack.worker("intake"):
        response = await api.post("/applications", json=a_form("P3"), headers=partner)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "submitted"

        fetched = await api.get(f"/applications/{created['id']}", headers=partner)
        assert fetched.json()["history"][0]["status"] == "submitted"

        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic("intake.applications.v1"))
    headers = {k: v.decode() for k, v in records[0].headers}
    assert headers["ce_type"] == "intake.application_submitted.v1"
    assert headers["ce_subject"] == created["id"]
    assert records[0].key.decode() == created["id"]


async def test_zero_gpus_is_refused_naming_the_field_and_nothing_is_stored(
        stack: Stack, a_form: Form, partner: dict[str, str],
        stored: Callable[[], Awaitable[dict[str, int]]]) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=a_form("P3", gpus_requested=0), headers=partner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["gpus_requested"]
    assert set((await stored()).values()) == {0}


async def test_an_unknown_program_is_named_alone_since_its_form_is_unknown(stack: Stack, a_form: Form,
                                                                           partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=a_form("P3", program="P9"), headers=partner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["program"]
    assert await stack.count("intake.outbox") == 0


async def test_a_missing_applicant_and_a_missing_purpose_are_both_named(stack: Stack, a_form: Form,
                                                                        partner: dict[str, str]) -> None:
    body = a_form("P3")
    del body["applicant"], body["purpose"]
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=body, headers=partner)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"applicant", "purpose"}
    assert await stack.count("intake.outbox") == 0


async def test_a_period_ending_before_it_starts_is_refused_by_the_domain(stack: Stack, a_form: Form,
                                                                         partner: dict[str, str]) -> None:
    body = a_form("P3", period_start="2027-01-01", period_end="2026-12-15")
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=body, headers=partner)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "period_end"
    assert await stack.count("intake.application") == 0


async def test_another_partner_cannot_see_the_application(stack: Stack, a_form: Form,
                                                          partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        created = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
        other = await api.get(f"/applications/{created['id']}", headers=bearer("partner"))
    assert other.status_code == 404


async def test_a_request_without_a_token_is_refused_naming_the_authorization_header(stack: Stack,
                                                                                  a_form: Form) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=a_form("P3"))
    assert response.status_code == 401
    assert [e["field"] for e in response.json()["errors"]] == ["Authorization"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await stack.count("intake.application") == 0


async def test_an_operator_is_not_a_partner_and_submits_nothing(stack: Stack, a_form: Form) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=a_form("P3"), headers=OPERATOR)
        listed = await api.get("/applications", headers=OPERATOR)  # reading every partner's is an operator's
    assert (response.status_code, listed.status_code) == (403, 200)
    assert listed.json() == {"items": [], "next_cursor": None}
    assert await stack.count("intake.application") == 0


async def test_a_withdrawal_is_recorded_and_published(stack: Stack, a_form: Form, partner: dict[str, str],
                                                      outbox: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    async with stack.api("intake") as api:
        created = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
        withdrawn = await api.post(f"/applications/{created['id']}/withdraw", json={"reason": "plans changed"},
                                   headers=partner)
        again = await api.post(f"/applications/{created['id']}/withdraw", json={}, headers=partner)
    assert withdrawn.json()["status"] == "withdrawn"
    assert again.status_code == 409
    assert [e["type"] for e in await outbox()] == ["intake.application_submitted.v1",
                                                   "intake.application_withdrawn.v1"]


async def test_the_openapi_document_lists_every_endpoint_with_its_errors(stack: Stack) -> None:
    async with stack.api("intake") as api:
        spec = (await api.get("/openapi.json")).json()
    operations = {(path, method): op for path, ops in spec["paths"].items() for method, op in ops.items()}
    assert {("/applications", "post"), ("/applications", "get"), ("/applications/{application_id}", "put"),
            ("/applications/{application_id}/submit", "post"), ("/calls", "post"),
            ("/applications/{application_id}/offer/accept", "post"),
            ("/applications/{application_id}/offer/decline", "post"),
            ("/calls/{call_id}/close", "post"), ("/calls", "get"), ("/programs", "get"), ("/webhooks", "post"),
            ("/webhooks", "get"), ("/webhooks/{webhook_id}", "delete"), ("/webhooks/{webhook_id}/deliveries", "get"),
            ("/oauth/token", "post"), ("/clients", "post"), ("/clients", "get")} <= set(operations)
    for (path, method), op in operations.items():
        if path.startswith(("/applications", "/calls")):
            assert {"404", "409", "422"} <= set(op["responses"]), (path, method)
    for key in (("/calls", "post"), ("/calls/{call_id}/close", "post")):
        assert "403" in operations[key]["responses"]
    schemas = spec["components"]["schemas"]
    assert {"P1Form", "P2Form", "P3Form", "Problem", "Page_ApplicationOut_", "Page_CallOut_", "OfferOut",
            "WebhookCreatedOut", "Page_DeliveryOut_", "TokenOut", "ClientCreatedOut"} <= set(schemas)
    assert "bearer" in spec["components"]["securitySchemes"]
    for (path, method), op in operations.items():
        if path not in UNAUTHENTICATED:
            assert {"401", "403"} <= set(op["responses"]), (path, method)
            assert op["security"] == [{"bearer": []}], (path, method)
