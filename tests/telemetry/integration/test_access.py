"""Who may call telemetry: a bearer token on every request; CSPs report samples, operators and CSPs read."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx

from support.auth import bearer, refused_tokens
from support.clock import ManualClock
from support.stack import Stack

A_SAMPLE = json.dumps({"server": "p3-gov-01", "gpu_index": 0, "ts": "2026-12-01T10:00:00Z",
                       "utilization_pct": 50.0}) + "\n"
REPORTED = ManualClock(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))  # the API's clock: A_SAMPLE is in its past, not late



async def both_calls(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, httpx.Response]:
    """The batch of one sample, and a read of some allocation's utilization, each with these headers."""
    posted = await api.post("/samples", content=A_SAMPLE,
                            headers={"Content-Type": "application/x-ndjson", **headers})
    read = await api.get(f"/allocations/{uuid.uuid4()}/utilization", headers=headers)
    return {"POST /samples": posted, "GET utilization": read}


async def test_both_endpoints_refuse_a_missing_forged_expired_or_malformed_token_with_401(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED) as api:
        found = {reason: await both_calls(api, headers) for reason, headers in refused_tokens().items()}
    for reason, responses in found.items():
        for call, response in responses.items():
            assert response.status_code == 401, (reason, call)
            assert response.json()["errors"] == [{"field": "Authorization", "reason": reason}], call
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="gpu-platform"')
    assert await stack.count("telemetry.sample") == 0


async def test_only_a_csp_reports_samples_and_only_operators_and_csps_read_utilization(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED) as api:
        found = {role: await both_calls(api, bearer(role)) for role in ("operator", "partner", "reviewer", "csp")}
    assert {role: responses["POST /samples"].status_code for role, responses in found.items()} == {
        "operator": 403, "partner": 403, "reviewer": 403, "csp": 202}
    assert "allowed: csp" in found["operator"]["POST /samples"].json()["detail"]
    # an allocation nobody tracks: those who may read it are told it is not there, the others that they may not
    assert {role: responses["GET utilization"].status_code for role, responses in found.items()} == {
        "operator": 404, "partner": 403, "reviewer": 403, "csp": 404}
    assert await stack.count("telemetry.sample") == 1  # the CSP's
