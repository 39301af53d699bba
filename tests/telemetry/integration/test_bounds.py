"""Input that cannot hurt, at telemetry's door: a sample whose server name holds a control character, or whose time
is beyond the calendar bounds, is a 422 naming its line and field, and nothing of the batch is stored."""
from __future__ import annotations

import json
from typing import Any

import pytest

from support.auth import bearer, csp_id
from support.stack import Stack

CSP = {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id("gov"))}
GOOD = {"server": "p3-gov-01", "gpu_index": 0, "ts": "2026-12-01T10:00:00Z", "utilization_pct": 42.0}


@pytest.mark.parametrize("bad,field,reason", [
    ({"server": "p3-gov\x0001"}, "line 2: server", "must not contain control characters (found U+0000 at 6)"),
    ({"server": "p3-gov-01\n"}, "line 2: server", "must not contain control characters (found U+000A at 9)"),
    ({"ts": "9999-12-31T23:00:00-05:00"}, "line 2: ts", "2199-12-31"),
], ids=["nul-in-the-server", "line-feed-in-the-server", "time-in-9999"])
async def test_a_batch_with_a_sample_out_of_bounds_is_refused_naming_the_line_and_nothing_is_stored(
        stack: Stack, bad: dict[str, Any], field: str, reason: str) -> None:
    body = json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "gpu_index": 1, **bad}) + "\n"
    async with stack.api("telemetry") as api:
        response = await api.post("/samples", content=body, headers=CSP)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert reason in errors[0]["reason"]
    assert await stack.count("telemetry.sample") == 0
