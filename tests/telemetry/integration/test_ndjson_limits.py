"""A CSP's batch read as it streams in: lines and line count bounded, every bad line named, all or nothing."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from servicekit.settings import HttpSettings
from support.auth import bearer, csp_id
from support.clock import ManualClock
from support.stack import Stack
from telemetry.config import PolicySettings

CSP = {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id("gov"))}
START = datetime(2026, 12, 1, 10, tzinfo=UTC)
REPORTED = ManualClock(START + timedelta(hours=1, minutes=45))  # every line is in its past, none late


def line(minute: int, server: str = "p3-gov-99") -> bytes:
    ts = (START + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    return json.dumps({"server": server, "gpu_index": 0, "ts": ts, "utilization_pct": 40}).encode() + b"\n"


async def streamed(parts: list[bytes], pulled: list[int]) -> AsyncIterator[bytes]:
    for part in parts:
        pulled.append(len(part))
        yield part


async def test_a_line_longer_than_the_limit_is_named_and_the_batch_is_refused_whole(stack: Stack) -> None:
    body = line(0) + line(1, server="x" * 300) + line(2)
    async with stack.api("telemetry", clock=REPORTED, policy=PolicySettings(max_line_bytes=200)) as api:
        response = await api.post("/samples", content=body, headers=CSP)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "line 2", "reason": "longer than 200 bytes"}]
    assert await stack.count("telemetry.sample") == 0


async def test_a_batch_over_the_line_count_is_refused_before_the_rest_is_read(stack: Stack) -> None:
    pulled: list[int] = []
    parts = [line(m) for m in range(1_000)]
    async with stack.api("telemetry", clock=REPORTED, policy=PolicySettings(max_batch_lines=10)) as api:
        response = await api.post("/samples", content=streamed(parts, pulled), headers=CSP)
    assert response.status_code == 413
    assert "at most 10 lines" in response.json()["detail"]
    assert len(pulled) <= 12
    assert await stack.count("telemetry.sample") == 0


async def test_lines_split_anywhere_across_chunks_are_read_whole_with_their_numbers(stack: Stack) -> None:
    body = line(0) + b"\n" + line(1) + b"{broken\n" + line(2)
    parts = [body[i:i + 7] for i in range(0, len(body), 7)]
    async with stack.api("telemetry", clock=REPORTED) as api:
        refused = await api.post("/samples", content=streamed(parts, []), headers=CSP)
        accepted = await api.post("/samples", content=streamed([(line(0) + line(1))[i:i + 5]
                                                                 for i in range(0, 2 * len(line(0)), 5)], []),
                                  headers=CSP)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["line 4"]
    assert accepted.json()["accepted"] == 2


async def test_a_batch_may_be_larger_than_the_app_s_default_body_cap(stack: Stack) -> None:
    body = b"".join(line(m) for m in range(100))
    async with stack.api("telemetry", clock=REPORTED, http=HttpSettings(max_body_bytes=1_000)) as api:
        response = await api.post("/samples", content=body, headers=CSP)
    assert len(body) > 1_000
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 100


async def test_a_garbage_batch_names_its_first_hundred_bad_lines_and_counts_the_rest(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED) as api:
        response = await api.post("/samples", content=b"nope\n" * 250, headers=CSP)
    errors = response.json()["errors"]
    assert response.status_code == 422
    assert len(errors) == 101
    assert errors[0]["field"] == "line 1"
    assert errors[-1] == {"field": "body", "reason": "150 more errors not shown"}
