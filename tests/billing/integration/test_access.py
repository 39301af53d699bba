"""Who may call billing: a bearer token on every request; any role reads the market prices, partners read their own
documents and ledger lines, operators do the rest."""
from __future__ import annotations

import uuid

from support.auth import OPERATOR, bearer, refusals, refused_tokens
from support.stack import Stack

SOME_ID = uuid.uuid4()
PRICE = ("PUT", "/market-prices/csp-a/H100/2026-12-01", {"krw_per_gpu_hour": 5000})
OPERATOR_CALLS = [PRICE, ("POST", "/invoices/rounds", None), ("POST", f"/invoices/{SOME_ID}/issue", None),
                  ("POST", f"/invoices/{SOME_ID}/payment", {"paid_on": "2027-01-05", "reference": "KB-1"}),
                  ("POST", f"/invoices/{SOME_ID}/void", {"reason": "typo"}),
                  ("POST", f"/applications/{SOME_ID}/open-source-release",
                   {"url": "https://example.org/r", "released_on": "2027-01-05"}),
                  ("GET", "/settlements/2026-12", None),
                  ("POST", "/dead-letters/redrive", {"topic": "billing.invoices.v1.dlq", "partition": 0, "offset": 0})]
READER_CALLS = [("GET", "/invoices", None), ("GET", f"/invoices/{SOME_ID}", None), ("GET", "/ledger", None)]
EVERY_CALL = [*OPERATOR_CALLS, *READER_CALLS, ("GET", "/market-prices", None)]


async def test_every_endpoint_refuses_a_missing_forged_expired_or_malformed_token_with_401(stack: Stack) -> None:
    async with stack.api("billing") as api:
        found = {reason: await refusals(api, EVERY_CALL, headers) for reason, headers in refused_tokens().items()}
    for reason, refused in found.items():
        for path, status, body in refused:
            assert (status, body["errors"]) == (401, [{"field": "Authorization", "reason": reason}]), path
            assert body["challenge"].startswith('Bearer realm="gpu-platform"')
            assert (f'error_description="{reason}"' in body["challenge"]) == (reason != "missing")
    assert await stack.count("billing.market_price") == 0


async def test_prices_rounds_payments_voids_and_releases_refuse_partners_reviewers_and_csps_with_403(
        stack: Stack) -> None:
    async with stack.api("billing") as api:
        found = {role: await refusals(api, OPERATOR_CALLS, bearer(role)) for role in ("partner", "reviewer", "csp")}
        method, path, body = PRICE
        as_operator = await api.request(method, path, json=body, headers=OPERATOR)
    for role, refused in found.items():
        for path, status, body in refused:
            assert (status, body["title"]) == (403, "Forbidden"), (role, path, body)
            assert f"a {role} may not do this; allowed: operator" in body["detail"]
    assert as_operator.status_code == 200
    assert await stack.count("billing.market_price") == 1  # the operator's, none of the others'
    assert await stack.count("billing.document") == 0


async def test_documents_and_the_ledger_refuse_reviewers_and_csps(stack: Stack) -> None:
    async with stack.api("billing") as api:
        found = {role: await refusals(api, READER_CALLS, bearer(role)) for role in ("reviewer", "csp")}
        partner = await api.get("/invoices", headers=bearer("partner"))
    for role, refused in found.items():
        for path, status, body in refused:
            assert (status, body["title"]) == (403, "Forbidden"), (role, path, body)
            assert f"a {role} may not do this; allowed: operator, partner" in body["detail"]
    assert (partner.status_code, partner.json()) == (200, [])


async def test_any_authenticated_role_may_read_the_market_prices(stack: Stack) -> None:
    async with stack.api("billing") as api:
        await api.put("/market-prices/csp-b/H200/2027-01-01", json={"krw_per_gpu_hour": 5500}, headers=OPERATOR)
        found = {role: await api.get("/market-prices", headers=bearer(role))
                 for role in ("partner", "reviewer", "csp", "operator")}
    for role, response in found.items():
        assert response.status_code == 200, (role, response.text)
        assert [(p["csp"], p["gpu_model"], p["effective_from"], p["krw_per_gpu_hour"]) for p in response.json()] \
            == [("csp-b", "H200", "2027-01-01", 5500)]
