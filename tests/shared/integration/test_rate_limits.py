"""Rate limits on the real services: per client and role on writes, per client_id on the token endpoint."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from servicekit.settings import RateLimitSettings
from support.auth import bearer, csp_id
from support.clock import ManualClock
from support.stack import Stack

PROBLEM = "application/problem+json"


TWO_A_MINUTE = RateLimitSettings(csp_per_minute=2, csp_burst=2)
# telemetry refuses samples from its future, and those more than its lateness (2 h) in its past
AFTER_THE_SAMPLES = ManualClock(datetime(2026, 12, 1, 11, tzinfo=UTC))


def batch(minute: int) -> str:
    ts = (datetime(2026, 12, 1, 10, tzinfo=UTC) + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    return json.dumps({"server": "p3-gov-99", "gpu_index": 0, "ts": ts, "utilization_pct": 50}) + "\n"


def as_csp(name: str) -> dict[str, str]:
    return {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id(name), client_id=f"{name}-exporter")}


async def test_writes_past_a_client_s_allowance_get_429_with_retry_after_and_store_nothing(stack: Stack) -> None:
    async with stack.api("telemetry", clock=AFTER_THE_SAMPLES, rate_limit=TWO_A_MINUTE) as api:
        answers = [await api.post("/samples", content=batch(m), headers=as_csp("gov")) for m in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    refused = answers[2]
    assert refused.headers["content-type"] == PROBLEM
    assert 1 <= int(refused.headers["retry-after"]) <= 30  # one request's share of a minute
    assert refused.json()["title"] == "Too Many Requests"
    assert await stack.count("telemetry.sample") == 2


async def test_one_client_over_its_allowance_does_not_hold_back_another_or_its_own_reads(stack: Stack) -> None:
    async with stack.api("telemetry", clock=AFTER_THE_SAMPLES, rate_limit=TWO_A_MINUTE) as api:
        for m in range(3):
            await api.post("/samples", content=batch(m), headers=as_csp("gov"))
        other = await api.post("/samples", content=batch(9), headers=as_csp("beta"))
        read = await api.get("/allocations/00000000-0000-0000-0000-000000000001/utilization",
                             headers=bearer("csp", csp_id("gov"), client_id="gov-exporter"))
    assert other.status_code == 202
    assert read.status_code == 404  # answered, not refused


async def test_the_allowance_is_the_role_s(stack: Stack) -> None:
    limits = RateLimitSettings(csp_per_minute=2, csp_burst=2, operator_burst=5)
    async with stack.api("telemetry", clock=AFTER_THE_SAMPLES, rate_limit=limits) as api:
        answers = [await api.post("/samples", content=batch(m), headers=as_csp("gov")) for m in range(3)]
        operators = [await api.post("/samples", content=batch(m), headers={
            "Content-Type": "application/x-ndjson", **bearer("operator", client_id="ops")}) for m in range(5)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert 429 not in [o.status_code for o in operators]  # 403 (not a CSP), each one answered


async def test_the_token_endpoint_is_limited_per_client_id(stack: Stack) -> None:
    form = {"grant_type": "client_credentials"}
    async with stack.api("intake", rate_limit=RateLimitSettings(token_per_minute=2, token_burst=2)) as api:
        guesses = [await api.post("/oauth/token", data=form, auth=("portal-1", f"guess-{n}")) for n in range(3)]
        other = await api.post("/oauth/token", data=form, auth=("portal-2", "guess"))
    assert [g.status_code for g in guesses] == [401, 401, 429]
    assert guesses[2].headers["content-type"] == PROBLEM
    assert int(guesses[2].headers["retry-after"]) >= 1
    assert other.status_code == 401


async def test_token_requests_without_http_basic_are_counted_by_address(stack: Stack) -> None:
    async with stack.api("intake", rate_limit=RateLimitSettings(token_per_minute=2, token_burst=2)) as api:
        answers = [await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": f"c{n}",
                                                        "client_secret": "s"}) for n in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]


async def test_nothing_is_counted_when_rate_limits_are_off(stack: Stack) -> None:
    limits = RateLimitSettings(enabled=False, csp_per_minute=1, csp_burst=1)
    async with stack.api("telemetry", clock=AFTER_THE_SAMPLES, rate_limit=limits) as api:
        answers = [await api.post("/samples", content=batch(m), headers=as_csp("gov")) for m in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
