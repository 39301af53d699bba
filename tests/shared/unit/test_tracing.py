"""Trace context propagation: W3C headers in and out, the CloudEvents Distributed Tracing extension on a record."""
from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from opentelemetry import trace

from contracts import ApplicationWithdrawn, to_record
from contracts.cloudevents import trace_context, trace_headers
from servicekit.logs import current_context, current_ids
from servicekit.outbox import outbox_trace_context
from servicekit.tracing import (
    TracingMiddleware,
    consuming,
    current_trace_context,
    install_tracer_provider,
    parent_context,
    record_fields,
    trace_id_of,
    tracer,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b9c7c989f97918e1-01"
TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"

install_tracer_provider("tests")


def trace_part(traceparent: str, index: int) -> str:
    return traceparent.split("-")[index]


def test_outside_any_span_there_is_no_trace_context_to_record() -> None:
    assert current_trace_context() == {}
    assert outbox_trace_context() == {"traceparent": None, "tracestate": None}
    assert current_ids() == {}


def test_a_child_span_of_a_traceparent_keeps_its_trace_id_and_tracestate_with_a_span_id_of_its_own() -> None:
    parent = {"traceparent": TRACEPARENT, "tracestate": TRACESTATE}
    with tracer().start_as_current_span("child", context=parent_context(parent)):
        context = current_trace_context()
        assert outbox_trace_context() == {"traceparent": context["traceparent"], "tracestate": TRACESTATE}
        assert current_ids()["trace_id"] == TRACE_ID
    assert trace_part(context["traceparent"], 1) == TRACE_ID
    assert trace_part(context["traceparent"], 2) not in {"b9c7c989f97918e1", "0" * 16}
    assert trace_part(context["traceparent"], 3) == "01"  # sampled, as the parent was


def test_a_span_without_a_valid_parent_starts_a_trace_of_its_own() -> None:
    for parent in ({}, {"traceparent": "00-not-a-trace-01"}, {"traceparent": f"00-{'0' * 32}-b9c7c989f97918e1-01"}):
        assert trace_id_of(parent) is None
        with tracer().start_as_current_span("root", context=parent_context(parent)):
            trace_id = trace_part(current_trace_context()["traceparent"], 1)
        assert trace_id != "0" * 32
        assert trace_id != TRACE_ID


def test_a_trace_context_travels_as_the_distributed_tracing_extension_headers() -> None:
    headers = trace_headers({"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
    assert headers == [("ce_traceparent", TRACEPARENT.encode()), ("ce_tracestate", TRACESTATE.encode())]
    assert trace_headers({"traceparent": TRACEPARENT, "tracestate": None}) == [("ce_traceparent", TRACEPARENT.encode())]
    assert trace_headers({}) == []
    record = to_record(ApplicationWithdrawn(application_id=uuid.uuid4(), reason="r"), source="/t",
                       extra_headers=headers)
    assert trace_context(record.headers) == {"traceparent": TRACEPARENT, "tracestate": TRACESTATE}
    assert trace_context([("ce_traceparent", b"\xff\xfe"), ("traceparent", b"not ours")]) == {}


def test_a_record_is_handled_in_a_child_span_of_the_context_it_carries() -> None:
    event = ApplicationWithdrawn(application_id=uuid.uuid4(), reason="r")
    record = to_record(event, source="/t", extra_headers=trace_headers({"traceparent": TRACEPARENT}))
    fields = record_fields(record.headers)
    assert fields == {"event_id": str(event.id), "event_type": event.type,
                      "application_id": str(event.application_id), "trace_id": TRACE_ID}
    with consuming(trace_context(record.headers), event_type=event.type, event_id=str(event.id),
                   subject=event.subject, topic="t") as span:
        assert span.get_span_context().trace_id == int(TRACE_ID, 16)
        parent = span.parent  # type: ignore[attr-defined]  # the SDK's span knows its parent
        assert parent is not None and parent.span_id == int("b9c7c989f97918e1", 16)
        assert trace_part(current_trace_context()["traceparent"], 1) == TRACE_ID


def tracing_app() -> FastAPI:
    app = FastAPI()

    @app.get("/seen")
    async def seen() -> dict[str, object]:
        return {"context": current_trace_context(), "logs": dict(current_context()),
                "recording": trace.get_current_span().is_recording()}

    app.add_middleware(TracingMiddleware)
    return app


async def test_a_request_continues_the_trace_of_its_traceparent_or_starts_one() -> None:
    transport = httpx.ASGITransport(app=tracing_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        continued = (await client.get("/seen", headers={"traceparent": TRACEPARENT,
                                                        "tracestate": TRACESTATE})).json()
        started = (await client.get("/seen")).json()
        garbled = (await client.get("/seen", headers={"traceparent": "garbage"})).json()
    assert continued["recording"] is True
    assert trace_part(continued["context"]["traceparent"], 1) == TRACE_ID
    assert continued["context"]["tracestate"] == TRACESTATE
    assert continued["logs"]["trace_id"] == TRACE_ID
    for fresh in (started, garbled):
        trace_id = trace_part(fresh["context"]["traceparent"], 1)
        assert trace_id not in {TRACE_ID, "0" * 32}
        assert fresh["logs"]["trace_id"] == trace_id
