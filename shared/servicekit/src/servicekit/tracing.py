"""Trace context from the HTTP request through every Kafka hop (OpenTelemetry, W3C TraceContext).

An API request continues the trace of its `traceparent` header (one without starts a trace); every outbox row
written while it is handled records the current span's context; the relay sends it with the event as the
CloudEvents Distributed Tracing extension (`ce_traceparent`, `ce_tracestate`); a consumer handles the event within a
span that is a child of it, so the rows that handler writes carry the same trace onward.

Spans are recorded by the OpenTelemetry SDK so that their ids are real; nothing is exported unless the process sets
up an exporter of its own (a tracer provider already set is kept).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.cloudevents import trace_context
from servicekit.http import scope_header
from servicekit.logs import current_ids, log_context

PROPAGATOR = TraceContextTextMapPropagator()
TRACER_NAME = "servicekit"


def install_tracer_provider(service_name: str) -> None:
    """Record spans with the SDK, so that trace and span ids are real. A provider already set (by OpenTelemetry's
    own instrumentation, with its exporters, or by an earlier call) is kept."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": service_name})))


def tracer() -> trace.Tracer:
    return _tracer_of(trace.get_tracer_provider())


@functools.lru_cache(maxsize=4)
def _tracer_of(provider: trace.TracerProvider) -> trace.Tracer:
    """A provider's tracer, asked for once (the SDK builds a new one, through a deprecation shim, every time)."""
    return provider.get_tracer(TRACER_NAME)


def current_trace_context() -> dict[str, str]:
    """The current span's context as W3C headers: `traceparent`, and `tracestate` when it has one; empty outside
    any span."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


def parent_context(carrier: Mapping[str, str]) -> Context:
    """The context a W3C `traceparent` (and `tracestate`) names, to start a child span in; an absent or malformed
    one gives an empty context, in which a span starts a new trace."""
    return PROPAGATOR.extract(carrier, context=Context())


def trace_id_of(carrier: Mapping[str, str]) -> str | None:
    """The trace id (32 hex digits) of a W3C trace context, or None if it names none."""
    span_context = trace.get_current_span(parent_context(carrier)).get_span_context()
    return format_trace_id(span_context.trace_id) if span_context.is_valid else None


def event_fields(*, event_id: str | None, event_type: str | None, subject: str | None,
                 context: Mapping[str, str | None]) -> dict[str, str | None]:
    """What the logs say of an event being handled or published: its id, type and subject, and its trace id."""
    carrier = {name: value for name, value in context.items() if value}
    return {"event_id": event_id, "event_type": event_type, "application_id": subject,
            "trace_id": trace_id_of(carrier)}


def record_fields(headers: Any) -> dict[str, str | None]:
    """What the logs say of a Kafka record, from its CloudEvents headers alone (it may not even decode)."""
    found: dict[str, str] = {}
    for name, raw in headers or ():
        if name in ("ce_id", "ce_type", "ce_subject") and isinstance(raw, bytes | bytearray):
            found[name] = bytes(raw).decode(errors="replace")
    return event_fields(event_id=found.get("ce_id"), event_type=found.get("ce_type"),
                        subject=found.get("ce_subject"), context=trace_context(headers))


@contextmanager
def consuming(carrier: Mapping[str, str], *, event_type: str, event_id: str, subject: str,
              topic: str) -> Iterator[Span]:
    """The span in which a consumer handles an event: a child of the context the event was created in."""
    attributes = {"messaging.system": "kafka", "messaging.operation.type": "process",
                  "messaging.destination.name": topic, "messaging.message.id": event_id,
                  "cloudevents.event_id": event_id, "cloudevents.event_type": event_type,
                  "cloudevents.event_subject": subject}
    with tracer().start_as_current_span(f"process {event_type}", context=parent_context(carrier),
                                        kind=SpanKind.CONSUMER, attributes=attributes) as span:
        yield span


class TracingMiddleware:
    """Handles each HTTP request within a server span that continues the request's `traceparent` (or starts a
    trace), with its trace id in the logs' context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {name: value for name in ("traceparent", "tracestate")
                   if (value := scope_header(scope, name.encode())) is not None}
        method, path = scope.get("method", ""), scope.get("path", "")
        attributes: dict[str, Any] = {"http.request.method": method, "url.path": path}
        with tracer().start_as_current_span(f"{method} {path}", context=parent_context(carrier),
                                            kind=SpanKind.SERVER, attributes=attributes) as span:

            async def send_noting_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", int(message["status"]))
                await send(message)

            with log_context(**current_ids()):
                await self.app(scope, receive, send_noting_status)
