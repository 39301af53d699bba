"""Billing's operator API on the real database: tariffs, and what it answers for what it does not have."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from support.auth import OPERATOR
from support.stack import Stack


@pytest.mark.parametrize(("body", "field"), [
    ({"krw_per_gpu_hour": 0}, "krw_per_gpu_hour"),
    ({"krw_per_gpu_hour": -4000}, "krw_per_gpu_hour"),
    ({"krw_per_gpu_hour": 4000.5}, "krw_per_gpu_hour"),
    ({}, "krw_per_gpu_hour"),
    ({"krw_per_gpu_hour": 4000, "currency": "USD"}, "currency"),
])
async def test_a_bad_tariff_is_refused_naming_the_field_and_nothing_is_stored(
        stack: Stack, body: dict[str, Any], field: str) -> None:
    async with stack.api("billing") as api:
        response = await api.put("/tariffs/H100", json=body, headers=OPERATOR)
        listed = (await api.get("/tariffs", headers=OPERATOR)).json()
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert listed == []
    assert await stack.count("billing.tariff") == 0


async def test_setting_a_tariff_again_replaces_the_price(stack: Stack) -> None:
    async with stack.api("billing") as api:
        first = await api.put("/tariffs/B200", json={"krw_per_gpu_hour": 7000}, headers=OPERATOR)
        second = await api.put("/tariffs/B200", json={"krw_per_gpu_hour": 6500}, headers=OPERATOR)
        await api.put("/tariffs/A100", json={"krw_per_gpu_hour": 2500}, headers=OPERATOR)
        listed = (await api.get("/tariffs", headers=OPERATOR)).json()
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["updated_at"] >= first.json()["updated_at"]
    assert [(t["gpu_model"], t["krw_per_gpu_hour"]) for t in listed] == [("A100", 2500), ("B200", 6500)]


async def test_an_unknown_invoice_or_account_is_not_found(stack: Stack) -> None:
    async with stack.api("billing") as api:
        invoice = await api.get(f"/invoices/{uuid.uuid4()}", headers=OPERATOR)
        account = await api.get(f"/accounts/{uuid.uuid4()}", headers=OPERATOR)
        none_yet = await api.get("/invoices", params={"application_id": str(uuid.uuid4())}, headers=OPERATOR)
    assert (invoice.status_code, account.status_code) == (404, 404)
    assert invoice.headers["content-type"] == "application/problem+json"
    assert (none_yet.status_code, none_yet.json()) == (200, [])


async def test_an_application_id_that_is_not_a_uuid_is_refused_naming_it(stack: Stack) -> None:
    async with stack.api("billing") as api:
        response = await api.get("/invoices", params={"application_id": "APP-1"}, headers=OPERATOR)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.application_id"]
