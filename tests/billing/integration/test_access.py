"""Who may call billing: a bearer token on every request; any role reads the tariffs, operators do the rest."""
from __future__ import annotations

import uuid

from support.auth import OPERATOR, bearer, refusals, refused_tokens
from support.stack import Stack

SOME_ID = uuid.uuid4()
OPERATOR_CALLS = [("PUT", "/tariffs/H100", {"krw_per_gpu_hour": 5000}), ("GET", f"/accounts/{SOME_ID}", None),
                  ("GET", "/invoices", None), ("GET", f"/invoices/{SOME_ID}", None),
                  ("POST", "/dead-letters/redrive", {"topic": "billing.invoices.v1.dlq", "partition": 0, "offset": 0})]
EVERY_CALL = [*OPERATOR_CALLS, ("GET", "/tariffs", None)]




async def test_every_endpoint_refuses_a_missing_forged_expired_or_malformed_token_with_401(stack: Stack) -> None:
    async with stack.api("billing") as api:
        found = {reason: await refusals(api, EVERY_CALL, headers) for reason, headers in refused_tokens().items()}
    for reason, refused in found.items():
        for path, status, body in refused:
            assert (status, body["errors"]) == (401, [{"field": "Authorization", "reason": reason}]), path
            assert body["challenge"].startswith('Bearer realm="gpu-platform"')
            assert (f'error_description="{reason}"' in body["challenge"]) == (reason != "missing")
    assert await stack.count("billing.tariff") == 0


async def test_tariff_changes_accounts_and_invoices_refuse_partners_reviewers_and_csps_with_403(
        stack: Stack) -> None:
    async with stack.api("billing") as api:
        found = {role: await refusals(api, OPERATOR_CALLS, bearer(role)) for role in ("partner", "reviewer", "csp")}
        as_operator = await api.put("/tariffs/H100", json={"krw_per_gpu_hour": 5000}, headers=OPERATOR)
    for role, refused in found.items():
        for path, status, body in refused:
            assert (status, body["title"]) == (403, "Forbidden"), (role, path, body)
            assert f"a {role} may not do this; allowed: operator" in body["detail"]
    assert as_operator.status_code == 200
    assert await stack.count("billing.tariff") == 1  # the operator's, none of the others'


async def test_any_authenticated_role_may_read_the_tariffs(stack: Stack) -> None:
    async with stack.api("billing") as api:
        await api.put("/tariffs/H200", json={"krw_per_gpu_hour": 5500}, headers=OPERATOR)
        found = {role: await api.get("/tariffs", headers=bearer(role))
                 for role in ("partner", "reviewer", "csp", "operator")}
    for role, response in found.items():
        assert response.status_code == 200, (role, response.text)
        assert [(t["gpu_model"], t["krw_per_gpu_hour"]) for t in response.json()] == [("H200", 5500)]
