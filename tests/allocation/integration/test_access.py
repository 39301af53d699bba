"""Who may call allocation: a bearer token on every request, operators for all but a pool's capacity."""
from __future__ import annotations

import uuid
from typing import Any

from support.auth import OPERATOR, bearer, refusals, refused_tokens
from support.stack import Stack

SOME_ID = uuid.uuid4()
A_SERVER = {"csp": "gamma-cloud", "name": "p3-gov-01", "region": "Gwangju", "gpu_model": "H100", "pool": "P3"}
OPERATOR_CALLS = [("POST", "/csps", {"name": "gamma-cloud"}), ("GET", "/csps", None),
                  ("POST", "/servers", A_SERVER), ("GET", "/servers", None), ("GET", "/allocations", None),
                  ("GET", f"/allocations/{SOME_ID}", None),
                  ("POST", f"/allocations/{SOME_ID}/reclaim", {"reason": "operator"}), ("GET", "/waitlist", None),
                  ("POST", f"/servers/{SOME_ID}/windows", {"pool": "P3"}), ("GET", f"/servers/{SOME_ID}/windows", None),
                  ("PATCH", f"/servers/{SOME_ID}/windows/{SOME_ID}", {"ends_on": None}),
                  ("PUT", f"/servers/{SOME_ID}/gpu-uuids", {"gpu_uuids": []}),
                  ("POST", f"/allocations/{SOME_ID}/waive", None), ("GET", "/rounds", None),
                  ("GET", f"/rounds/{SOME_ID}", None), ("GET", "/offers", None),
                  ("POST", f"/rounds/{SOME_ID}/what-if", {"variants": [{"name": "recorded"}]}),
                  ("POST", "/dead-letters/redrive", {"topic": "allocation.allocations.v1.dlq", "partition": 0,
                                                     "offset": 0})]
EVERY_CALL = [*OPERATOR_CALLS, ("GET", "/pools/P3/capacity", None),
              ("GET", "/pools/P3/capacity/daily?start=2027-01-01&end=2027-01-02", None)]


async def test_the_lists_above_cover_every_endpoint_of_the_api(stack: Stack) -> None:
    async with stack.api("allocation") as api:
        paths = (await api.get("/openapi.json")).json()["paths"]
    documented = {(method.upper(), path) for path, methods in paths.items() for method in methods
                  if not path.startswith(("/healthz", "/readyz"))}
    called = {(method, path.split("?")[0].replace(str(SOME_ID), "{id}")) for method, path, _ in EVERY_CALL}
    assert {(m, _template(p)) for m, p in documented} == {(m, _template(p)) for m, p in called}


def _template(path: str) -> str:
    return "/".join("{id}" if part.startswith("{") or part == "P3" else part for part in path.split("/"))




async def test_every_endpoint_refuses_a_missing_forged_expired_or_malformed_token_with_401(stack: Stack) -> None:
    async with stack.api("allocation") as api:
        found = {reason: await refusals(api, EVERY_CALL, headers) for reason, headers in refused_tokens().items()}
    for reason, refused in found.items():
        for path, status, body in refused:
            assert (status, body["errors"]) == (401, [{"field": "Authorization", "reason": reason}]), path
            assert body["challenge"].startswith('Bearer realm="gpu-platform"')
            assert (f'error_description="{reason}"' in body["challenge"]) == (reason != "missing")
    assert (await stack.count("allocation.csp"), await stack.count("allocation.outbox")) == (0, 0)


async def test_inventory_and_allocation_endpoints_refuse_partners_reviewers_and_csps_with_403(
        stack: Stack) -> None:
    async with stack.api("allocation") as api:
        found = {role: await refusals(api, OPERATOR_CALLS, bearer(role)) for role in ("partner", "reviewer", "csp")}
        created = await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
    for role, refused in found.items():
        for path, status, body in refused:
            assert (status, body["title"]) == (403, "Forbidden"), (role, path, body)
            assert f"a {role} may not do this; allowed: operator" in body["detail"]
    assert created.status_code == 201
    assert await stack.count("allocation.csp") == 1  # the operator's, none of the others'


async def test_any_authenticated_role_may_read_a_pools_capacity(stack: Stack, seed_p3_via_api: Any) -> None:
    async with stack.api("allocation") as api:
        await seed_p3_via_api(api)
        found = {role: await api.get("/pools/P3/capacity", params={"gpu_model": "H100"}, headers=bearer(role))
                 for role in ("partner", "reviewer", "csp", "operator")}
    for role, response in found.items():
        assert response.status_code == 200, (role, response.text)
        assert response.json()["free_gpus"] == 32
