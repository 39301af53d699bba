"""Billing's API on the real database: bad input is a 422 naming the field and changes nothing (nothing stored, no
event), and what billing does not have is a 404."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from support.auth import OPERATOR
from support.stack import Stack

PRICE = "/market-prices/csp-a/H100/2026-12-01"


async def nothing_changed(stack: Stack) -> None:
    for table in ("billing.market_price", "billing.release", "billing.document", "billing.ledger_line",
                  "billing.outbox"):
        assert await stack.count(table) == 0, table


@pytest.mark.parametrize(("path", "body", "field"), [
    (PRICE, {"krw_per_gpu_hour": 0}, "krw_per_gpu_hour"),
    (PRICE, {"krw_per_gpu_hour": -4000}, "krw_per_gpu_hour"),
    (PRICE, {"krw_per_gpu_hour": 4000.5}, "krw_per_gpu_hour"),
    (PRICE, {"krw_per_gpu_hour": 2**31}, "krw_per_gpu_hour"),
    (PRICE, {}, "krw_per_gpu_hour"),
    (PRICE, {"krw_per_gpu_hour": 4000, "currency": "USD"}, "currency"),
    ("/market-prices/csp-a/H100%00/2026-12-01", {"krw_per_gpu_hour": 3000}, "path.gpu_model"),
    ("/market-prices/csp%0A-a/H100/2026-12-01", {"krw_per_gpu_hour": 3000}, "path.csp"),
    ("/market-prices/csp-a/H100/2026-13-01", {"krw_per_gpu_hour": 3000}, "path.effective_from"),
    ("/market-prices/csp-a/H100/2300-01-01", {"krw_per_gpu_hour": 3000}, "path.effective_from"),
    (f"/market-prices/{'c' * 1001}/H100/2026-12-01", {"krw_per_gpu_hour": 3000}, "path.csp"),
])
async def test_a_bad_market_price_is_refused_naming_the_field_and_nothing_is_stored(
        stack: Stack, path: str, body: dict[str, Any], field: str) -> None:
    async with stack.api("billing") as api:
        response = await api.put(path, json=body, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    await nothing_changed(stack)


async def test_setting_a_day_s_price_again_replaces_it_and_each_setting_is_an_event(stack: Stack) -> None:
    async with stack.api("billing") as api:
        first = await api.put(PRICE, json={"krw_per_gpu_hour": 7000}, headers=OPERATOR)
        second = await api.put(PRICE, json={"krw_per_gpu_hour": 6500}, headers=OPERATOR)
        await api.put("/market-prices/csp-a/H100/2027-01-01", json={"krw_per_gpu_hour": 6000}, headers=OPERATOR)
        listed = (await api.get("/market-prices", headers=OPERATOR)).json()
    assert (first.status_code, second.status_code) == (200, 200)
    assert [(p["effective_from"], p["krw_per_gpu_hour"]) for p in listed] == [("2026-12-01", 6500),
                                                                            ("2027-01-01", 6000)]
    assert listed[0]["event_id"] == second.json()["event_id"] != first.json()["event_id"]
    assert await stack.count("billing.outbox") == 3


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.org/x", "released_on": "2027-01-05"}, "url"),
    ({"url": "https://example.org/" + "x" * 2000, "released_on": "2027-01-05"}, "url"),
    ({"url": "https://example.org/x\u0000", "released_on": "2027-01-05"}, "url"),
    ({"url": "https://example.org/x", "released_on": "1800-01-01"}, "released_on"),
    ({"url": "https://example.org/x"}, "released_on"),
    ({"url": "https://example.org/x", "released_on": "2027-01-05", "extra": 1}, "extra"),
])
async def test_a_bad_release_is_refused_naming_the_field(stack: Stack, body: dict[str, Any], field: str) -> None:
    async with stack.api("billing") as api:
        response = await api.post(f"/applications/{uuid.uuid4()}/open-source-release", json=body, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    await nothing_changed(stack)


async def test_what_billing_does_not_have_is_not_found(stack: Stack) -> None:
    unknown = uuid.uuid4()
    async with stack.api("billing") as api:
        answers = {
            "document": await api.get(f"/invoices/{unknown}", headers=OPERATOR),
            "issue": await api.post(f"/invoices/{unknown}/issue", headers=OPERATOR),
            "payment": await api.post(f"/invoices/{unknown}/payment", headers=OPERATOR,
                                      json={"paid_on": "2027-01-05", "reference": "KB-1"}),
            "release": await api.post(f"/applications/{unknown}/open-source-release", headers=OPERATOR,
                                      json={"url": "https://example.org/x", "released_on": "2027-01-05"}),
        }
        ledger = await api.get("/ledger", params={"application_id": str(unknown)}, headers=OPERATOR)
        settlement = await api.get("/settlements/2026-12", headers=OPERATOR)
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
    assert ledger.json() == {"items": [], "next_after": None}
    assert settlement.json()["rows"] == []
    await nothing_changed(stack)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/ledger", {"application_id": "APP-1"}, "query.application_id"),
    ("/ledger", {"after": str(2**63)}, "query.after"),
    ("/ledger", {"limit": "501"}, "query.limit"),
    ("/invoices", {"month": "2026-13-01"}, "query.month"),
    ("/invoices", {"status": "lost"}, "query.status"),
    ("/settlements/2026-13", {}, "path.month"),
    ("/settlements/0000-01", {}, "path.month"),
    ("/settlements/2200-01/csv", {}, "path.month"),
])
async def test_a_bad_query_is_refused_naming_it(stack: Stack, path: str, params: dict[str, str], field: str) -> None:
    async with stack.api("billing") as api:
        response = await api.get(path, params=params, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
