"""The platform's own signals: every API and worker serves Prometheus metrics that move with what it does, read
with the Prometheus client library's own parser (docs/observability.md)."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx

from contracts import ApplicationScored, to_record, topics
from servicekit.settings import WorkerSettings
from support.auth import bearer, csp_id
from support.infra import free_port
from support.kafka import produce_raw
from support.metrics import Samples, scrape, value
from support.stack import Stack, eventually

PARTNER = bearer("partner")
APPLICATION = {
    "program": "P3",
    "applicant": {"name": "Dr. Lee", "sector": "research_institute", "institution": "ETRI", "region": "Daejeon"},
    "gpus_requested": 8, "gpu_model": "H100", "earliest_start": "2026-12-01", "acceptable_window_months": 2,
    "period_start": "2026-12-01", "period_end": "2027-01-31", "planned_gpu_hours_per_month": 3000,
    "purpose": "speech recognition",
}


async def test_a_request_counts_under_its_route_template_and_metrics_is_open_unlisted_and_uncounted(
        stack: Stack) -> None:
    route = "/applications/{application_id}"
    async with stack.api("intake") as api:
        before = await scrape(api)  # no token: a scraper has none
        assert value(before, "platform_process_info", service="intake", role="api") == 1
        for _ in range(2):
            assert (await api.get(f"/applications/{uuid.uuid4()}", headers=PARTNER)).status_code == 404
        await api.get("/nowhere/at/all")
        after = await scrape(api)
        openapi = (await api.get("/openapi.json")).json()

    counted = value(after, "platform_http_requests_total", method="GET", route=route, status="4xx")
    assert counted == (value(before, "platform_http_requests_total", method="GET", route=route, status="4xx") or 0) + 2
    assert value(after, "platform_http_request_duration_seconds_count", method="GET", route=route, status="4xx") == 2
    assert value(after, "platform_http_requests_total", method="GET", route="<unmatched>", status="4xx") == 1
    assert not any(dict(labels).get("route", "").startswith(("/applications/", "/nowhere")) and
                   dict(labels)["route"] != route for _, labels in after)  # never a raw path
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in after)
    assert "/metrics" not in openapi["paths"]


async def test_an_unpublished_outbox_row_shows_a_backlog_and_its_age_and_the_domain_counts(stack: Stack) -> None:
    async with stack.api("intake") as api:  # no worker: the outbox row waits
        samples = await scrape(api)
        assert value(samples, "platform_outbox_backlog") == 0
        assert value(samples, "platform_outbox_oldest_age_seconds") == 0
        assert value(samples, "platform_intake_applications", status="submitted") == 0
        assert (await api.post("/applications", json=APPLICATION, headers=PARTNER)).status_code == 201
        await asyncio.sleep(0.05)
        samples = await scrape(api)
    assert (value(samples, "platform_outbox_backlog") or 0) >= 1
    assert (value(samples, "platform_outbox_oldest_age_seconds") or 0) > 0
    assert value(samples, "platform_intake_applications", status="submitted") == 1
    assert value(samples, "platform_intake_applications", status="active") == 0


async def test_the_worker_counts_handled_records_and_dead_letters_per_topic_and_its_lag_falls_to_zero(
        stack: Stack) -> None:
    scores = stack.topic(topics.SCORES)
    port = free_port()
    async with (stack.api("intake") as api,
                stack.worker("intake", worker=WorkerSettings(health_port=port)),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe):
        app = (await api.post("/applications", json=APPLICATION, headers=PARTNER)).json()
        good = to_record(ApplicationScored(
            application_id=uuid.UUID(app["id"]), program="P3", score=77.0, policy_version="2026.1",
            institution="ETRI", gpus_requested=8, gpu_model="H100", period_start=date(2026, 12, 1),
            period_end=date(2027, 1, 31), planned_gpu_hours_per_month=3000), source="/test")
        await produce_raw(stack.infra.kafka_bootstrap, scores, b"{not json", key=good.key, headers=good.headers)
        await produce_raw(stack.infra.kafka_bootstrap, scores, good.value, key=good.key, headers=good.headers)

        async def settled() -> Samples | None:
            try:
                samples = await scrape(probe)
            except httpx.TransportError:
                return None
            lags = [v for (name, labels), v in samples.items()
                    if name == "platform_consumer_lag" and dict(labels)["topic"] == scores]
            handled = value(samples, "platform_consumer_messages_handled_total", topic=scores)
            published = value(samples, "platform_outbox_published_total") or 0
            return samples if handled == 1 and lags and not any(lags) and published >= 1 else None

        samples = await eventually(settled, what="the good record handled, the lag at 0 and the outbox relayed")
    assert value(samples, "platform_consumer_dead_letters_total", topic=scores) == 1
    assert value(samples, "platform_consumer_messages_failed_total", topic=scores) == 0
    assert value(samples, "platform_process_info", service="intake", role="worker") == 1
    assert value(samples, "platform_worker_ready") == 1
    assert value(samples, "platform_outbox_backlog") == 0


async def test_telemetry_counts_accepted_samples_and_allocation_its_gpus_and_reclaims(stack: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    lines = [{"server": "metrics-srv-1", "gpu_index": gpu, "utilization_pct": 50.0,
              "ts": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")} for gpu in range(3)]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    async with stack.api("telemetry") as api:
        assert value(await scrape(api), "platform_telemetry_samples_accepted_total", via="ndjson") == 0
        response = await api.post("/samples", content=body,
                                  headers={"Content-Type": "application/x-ndjson", **bearer("csp", csp_id("gov"))})
        assert response.status_code == 202, response.text
        samples = await scrape(api)
    assert value(samples, "platform_telemetry_samples_accepted_total", via="ndjson") == response.json()["accepted"]
    assert response.json()["accepted"] == 3

    for status, gpus in (("active", 4), ("reclaimed", 2), ("released", 8)):
        await stack.fetch("INSERT INTO allocation.allocation (id, application_id, program, gpu_model, gpus, "
                          "starts_at, ends_at, status) VALUES ($1, $2, 'P3', 'H100', $3, now(), "
                          "now() + interval '30 days', $4)", uuid.uuid4(), uuid.uuid4(), gpus, status)
    async with stack.api("allocation") as api:
        samples = await scrape(api)
    assert value(samples, "platform_allocation_gpus_allocated", program="P3") == 4
    assert value(samples, "platform_allocation_gpus_allocated", program="P1") == 0
    assert value(samples, "platform_allocation_reclaims_total") == 1
