"""A request's trace goes on through the outbox, the Kafka record (`ce_traceparent`) and the next service's outbox."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind

from contracts import topics
from support.auth import bearer
from support.kafka import read_topic
from support.stack import Stack, eventually

PARTNER = bearer("partner")
TRACE_ID = uuid.uuid4().hex
CALLER_SPAN = "00f067aa0ba902b7"


def application() -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "program": "P3",
        "applicant": {"name": "Dr. Lee", "sector": "research_institute", "institution": "ETRI", "region": "Daejeon"},
        "gpus_requested": 4, "gpu_model": "H100", "earliest_start": today.isoformat(),
        "acceptable_window_months": 2, "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=89)).isoformat(), "planned_gpu_hours_per_month": 2000,
        "purpose": "speech recognition",
    }


def parts(traceparent: str) -> tuple[str, str]:
    """The trace id and the span id of a W3C traceparent."""
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


async def test_a_requests_trace_id_reaches_the_record_and_the_outbox_of_the_service_that_consumes_it(
        stack: Stack) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=application(), headers={
            **PARTNER, "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01", "tracestate": "platform=test"})
    assert response.status_code == 201, response.text
    app_id = response.json()["id"]
    [row] = await stack.fetch("SELECT traceparent, tracestate FROM intake.outbox WHERE key = $1", app_id)
    intake_trace, intake_span = parts(row["traceparent"])
    assert intake_trace == TRACE_ID
    assert intake_span != CALLER_SPAN  # the span of intake's handling, a child of the caller's
    assert row["tracestate"] == "platform=test"

    async with stack.worker("intake"), stack.worker("evaluation"):
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS))
        [record] = [r for r in records if r.key == app_id.encode()]
        headers = dict(record.headers)
        assert headers["ce_traceparent"].decode() == row["traceparent"]
        assert headers["ce_tracestate"] == b"platform=test"

        async def scored() -> list[Any]:
            return await stack.fetch("SELECT type, traceparent FROM evaluation.outbox WHERE key = $1 "
                                     "AND type = 'evaluation.application_scored.v1'", app_id)

        await eventually(scored, what="evaluation to score the application")
        published = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES))
    evaluation_rows = await stack.fetch("SELECT type, traceparent FROM evaluation.outbox WHERE key = $1", app_id)
    assert evaluation_rows
    for evaluation_row in evaluation_rows:
        trace_id, span_id = parts(evaluation_row["traceparent"])
        assert trace_id == TRACE_ID, evaluation_row["type"]
        assert span_id not in {CALLER_SPAN, intake_span}  # evaluation's own span, a child of intake's
    scores = [dict(r.headers) for r in published if r.key == app_id.encode()]
    assert scores and all(parts(h["ce_traceparent"].decode())[0] == TRACE_ID for h in scores)


async def test_a_request_without_a_traceparent_starts_a_trace_of_its_own(stack: Stack) -> None:
    async with stack.api("intake") as api:
        first = (await api.post("/applications", json=application(), headers=PARTNER)).json()["id"]
        second = (await api.post("/applications", json=application(), headers=PARTNER)).json()["id"]
    rows = await stack.fetch("SELECT key, traceparent FROM intake.outbox WHERE key = ANY($1::text[])",
                             [first, second])
    trace_ids = {parts(r["traceparent"])[0] for r in rows}
    assert len(rows) == 2
    assert len(trace_ids) == 2  # one trace per request
    assert "0" * 32 not in trace_ids



class Recorder(SpanProcessor):
    """The spans that end while it is on (a processor cannot be taken off the process's provider)."""

    def __init__(self) -> None:
        self.on = False
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.spans.append(span)


async def test_a_request_is_one_server_span_the_child_of_the_callers(stack: Stack) -> None:
    """Ours (servicekit's TracingMiddleware), not also FastAPI's own: two would be siblings under the caller, each
    timing the same request, and an exporter would send both."""
    recorder = Recorder()
    async with stack.api("intake") as api:
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider)  # the services' own (install_tracer_provider)
        provider.add_span_processor(recorder)
        recorder.on = True
        response = await api.post("/applications", json=application(), headers={
            **PARTNER, "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"})
        recorder.on = False
    assert response.status_code == 201, response.text
    servers = [(s.name, format(s.context.trace_id, "032x"), s.parent and format(s.parent.span_id, "016x"))
               for s in recorder.spans if s.kind is SpanKind.SERVER]
    assert servers == [("POST /applications", TRACE_ID, CALLER_SPAN)]
