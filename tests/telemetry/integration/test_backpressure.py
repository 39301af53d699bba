"""Backpressure at telemetry's two doors, on the real app and database: requests in flight are bounded for the
process (503) and per CSP (429), both with Retry-After and nothing queued, every place given back however its
request ends; a body over its configured size is 413 at both doors, by its Content-Length before a byte of it is
read, and nothing is stored."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import cramjam
import httpx
from fastapi import FastAPI

from support.auth import bearer, csp_id
from support.clock import ManualClock
from support.stack import Stack
from telemetry.config import NDJSON_BYTES_CEILING, IngestSettings, PolicySettings
from telemetry.entrypoints import prompb
from telemetry.entrypoints.admission import gate_of
from telemetry.entrypoints.api import create_app

START = datetime(2026, 12, 1, 10, tzinfo=UTC)
REPORTED = ManualClock(START + timedelta(hours=1, minutes=45))  # the API's clock: every sample in its past, none late
PROBLEM = "application/problem+json"


def line(minute: int, server: str = "p3-gov-99") -> bytes:
    ts = (START + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    return json.dumps({"server": server, "gpu_index": 0, "ts": ts, "utilization_pct": 40}).encode() + b"\n"


def ndjson(csp: str) -> dict[str, str]:
    return {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id(csp))}


def remote_write(csp: str) -> dict[str, str]:
    return {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0", **bearer("csp", csp_id(csp))}


def write_request(host: str, minutes: int = 1) -> bytes:
    request = prompb.WriteRequest()
    ts = request.timeseries.add()
    for name, value in {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": host, "gpu": "0"}.items():
        ts.labels.add(name=name, value=value)
    for m in range(minutes):
        ts.samples.add(value=50.0, timestamp=int((START + timedelta(minutes=m)).timestamp() * 1000))
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


class Held:
    """A body sent in two parts, the second only once released: its request stays in flight until then."""

    def __init__(self, first: bytes, rest: bytes = b"") -> None:
        self.first, self.rest = first, rest
        self.reading = asyncio.Event()  # the route has asked for the body: the request holds its place
        self.release = asyncio.Event()

    async def body(self) -> AsyncIterator[bytes]:
        self.reading.set()
        yield self.first
        await self.release.wait()
        if self.rest:
            yield self.rest


@asynccontextmanager
async def served(stack: Stack, **overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """As stack.api, with the app at hand too: its gate is on app.state."""
    app = create_app(stack.settings("telemetry", **overrides), clock=REPORTED)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://telemetry") as api:
            yield app, api


async def pulled_and_sent(parts: list[bytes], pulled: list[int]) -> AsyncIterator[bytes]:
    for part in parts:
        pulled.append(len(part))
        yield part


async def test_past_the_process_bound_is_503_past_a_csp_s_share_429_both_doors_until_a_place_is_free(
        stack: Stack) -> None:
    limits = IngestSettings(max_in_flight=2, max_in_flight_per_csp=1, retry_after_s=7)
    gov, aws = Held(line(0), line(1)), Held(line(0, server="p3-aws-01"), line(1, server="p3-aws-01"))
    async with served(stack, ingest=limits) as (app, api):
        gov_batch = asyncio.create_task(api.post("/samples", content=gov.body(), headers=ndjson("gov")))
        await gov.reading.wait()
        over_share = [await api.post("/samples", content=line(2), headers=ndjson("gov")),
                      await api.post("/api/v1/write", content=write_request("p3-gov-99"),
                                     headers=remote_write("gov"))]
        aws_batch = asyncio.create_task(api.post("/samples", content=aws.body(), headers=ndjson("aws")))
        await aws.reading.wait()
        in_flight = gate_of(app).in_flight
        saturated = [await api.post("/samples", content=line(0, server="p3-ovh-01"), headers=ndjson("ovh")),
                     await api.post("/api/v1/write", content=write_request("p3-ovh-01"),
                                    headers=remote_write("ovh"))]
        gov.release.set()
        aws.release.set()
        held = await asyncio.gather(gov_batch, aws_batch)
        # the refused requests sent again, now that places are free: stored now, so not before
        after = [await api.post("/samples", content=line(2), headers=ndjson("gov")),
                 await api.post("/api/v1/write", content=write_request("p3-ovh-01"), headers=remote_write("ovh"))]
        rejections, left = gate_of(app).rejections, gate_of(app).in_flight
    assert in_flight == 2
    assert [r.status_code for r in over_share] == [429, 429]
    assert [r.status_code for r in saturated] == [503, 503]
    for refused in over_share + saturated:
        assert refused.headers["Retry-After"] == "7"
        assert refused.headers["Content-Type"] == PROBLEM
    assert f"{csp_id('gov')} already has 1 sample requests in flight" in over_share[0].json()["detail"]
    assert "working on 2 sample requests" in saturated[0].json()["detail"]
    assert [r.status_code for r in held] == [202, 202], [r.text for r in held]
    assert [(r.json()["accepted"], r.json()["duplicates"]) for r in held] == [(2, 0), (2, 0)]
    assert [r.status_code for r in after] == [202, 200], [r.text for r in after]
    assert [(r.json()["accepted"], r.json()["duplicates"]) for r in after] == [(1, 0), (1, 0)]
    assert (rejections.saturated, dict(rejections.over_csp_share), left) == (2, {str(csp_id("gov")): 2}, 0)


async def test_a_place_is_given_back_when_its_request_is_refused_fails_or_its_client_goes(stack: Stack) -> None:
    async with served(stack, ingest=IngestSettings(max_in_flight=1, max_in_flight_per_csp=1)) as (app, api):
        gate = gate_of(app)
        refused = [await api.post("/samples", content=b"nope\n", headers=ndjson("gov")),
                   await api.post("/samples", content=line(0), headers={**ndjson("gov"), "Content-Type": "text/csv"}),
                   await api.post("/api/v1/write", content=b"\x05not snappy", headers=remote_write("gov"))]
        left_after_refusals = gate.in_flight

        cancelled = Held(line(0))
        client = asyncio.create_task(api.post("/samples", content=cancelled.body(), headers=ndjson("gov")))
        await cancelled.reading.wait()
        held_while_reading = gate.in_flight
        client.cancel()
        await asyncio.gather(client, return_exceptions=True)
        left_after_cancel = gate.in_flight

        held_when_gone = await disconnecting(app, line(0), ndjson("gov"))
        left_after_disconnect = gate.in_flight

        # the lines of the requests cut short, sent whole: none of them was stored
        accepted = await api.post("/samples", content=line(0) + line(1), headers=ndjson("gov"))
    assert [r.status_code for r in refused] == [422, 415, 400]
    assert (left_after_refusals, held_while_reading, left_after_cancel) == (0, 1, 0)
    assert (held_when_gone, left_after_disconnect) == (1, 0)
    assert accepted.status_code == 202, accepted.text
    assert (accepted.json()["accepted"], accepted.json()["duplicates"]) == (2, 0)
    assert gate.rejections.total == 0


async def disconnecting(app: FastAPI, first: bytes, headers: dict[str, str]) -> int:
    """A request whose client goes away after the body's first part, as the server tells the app (ASGI); the
    places taken when it went."""
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": first, "more_body": True}]
    held: list[int] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        held.append(gate_of(app).in_flight)
        return {"type": "http.disconnect"}

    async def send(_: Any) -> None:
        return None  # nobody is there to read it

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/samples", "raw_path": b"/samples", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"telemetry"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
             "client": ("127.0.0.1", 50000), "server": ("telemetry", 80)}
    await app(scope, receive, send)
    return held[0]


async def test_a_body_over_its_configured_size_is_413_at_both_doors_and_nothing_is_stored(stack: Stack) -> None:
    batch = b"".join(line(m) for m in range(30))
    write = write_request("p3-gov-99", minutes=2000)
    pulled: dict[str, list[int]] = {"declared": [], "streamed": []}
    caps = {"ingest": IngestSettings(ndjson_max_bytes=1024), "policy": PolicySettings(remote_write_max_bytes=1024)}
    async with served(stack, **caps) as (app, api), served(stack) as (_, roomy):
        ndjson_answers = [
            await api.post("/samples", content=pulled_and_sent([batch], pulled["declared"]),
                           headers={**ndjson("gov"), "Content-Length": str(len(batch))}),
            await api.post("/samples", content=pulled_and_sent([batch[i:i + 100] for i in range(0, len(batch), 100)],
                                                                pulled["streamed"]), headers=ndjson("gov"))]
        write_answers = [
            await api.post("/api/v1/write", content=write, headers=remote_write("gov")),
            await api.post("/api/v1/write", content=pulled_and_sent([write[i:i + 100]
                                                                     for i in range(0, len(write), 100)], []),
                           headers=remote_write("gov"))]
        left = gate_of(app).in_flight
        stored_after_refusals = await stack.count("telemetry.sample")
        elsewhere = await roomy.post("/samples", content=batch, headers=ndjson("gov"))  # an app of its own caps
    assert len(batch) > 1024 and len(write) > 1024
    for answer in ndjson_answers + write_answers:
        assert answer.status_code == 413, answer.text
        assert answer.json()["errors"] == [{"field": "body", "reason": "larger than 1024 bytes, the most this "
                                                                       "endpoint takes"}]
    assert pulled["declared"] == []  # refused by its Content-Length: not a byte read
    assert sum(pulled["streamed"]) <= 1024 + 100  # counted as it came, cut off at the cap
    assert (left, stored_after_refusals) == (0, 0)
    assert elsewhere.status_code == 202, elsewhere.text
    assert (elsewhere.json()["accepted"], elsewhere.json()["duplicates"]) == (30, 0)  # none of it stored before


async def test_a_body_declared_too_large_is_413_even_while_every_place_is_taken(stack: Stack) -> None:
    holder = Held(line(0), line(1))
    limits = IngestSettings(max_in_flight=1, max_in_flight_per_csp=1, ndjson_max_bytes=1024)
    async with served(stack, ingest=limits) as (app, api):
        batch = asyncio.create_task(api.post("/samples", content=holder.body(), headers=ndjson("gov")))
        await holder.reading.wait()
        too_large = await api.post("/samples", content=b"".join(line(m, "p3-aws-01") for m in range(30)),
                                   headers=ndjson("aws"))
        small = await api.post("/samples", content=line(0, "p3-aws-01"), headers=ndjson("aws"))
        holder.release.set()
        held = await batch
    assert (too_large.status_code, small.status_code, held.status_code) == (413, 503, 202)
    assert gate_of(app).rejections.saturated == 1


async def test_both_doors_document_413_429_and_503_with_retry_after(stack: Stack) -> None:
    spec = create_app(stack.settings("telemetry")).openapi()
    assert spec["paths"]["/samples"]["post"]["x-max-body-bytes"] == NDJSON_BYTES_CEILING  # the ceiling
    for path in ("/samples", "/api/v1/write"):
        responses = spec["paths"][path]["post"]["responses"]
        for status in ("413", "429", "503"):
            assert responses[status]["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        assert "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]
        assert "MAX_IN_FLIGHT" in responses["503"]["description"]
