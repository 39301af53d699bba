"""Structured logs: one JSON object a line on stderr, with what the process is handling at the time.

Every line carries its timestamp, level, logger, message and service; and, whenever known, the event being handled
(`event_id`, `event_type`, `application_id`: the event's subject) and the trace (`trace_id`, `span_id`). The consumer
and the relay set these for each record they handle, the API for each request (`log_context`); a line logged within
a span takes its ids from it. `<SVC>_LOG__FORMAT=text` switches to plain lines, for reading locally.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import format_span_id, format_trace_id

from servicekit.settings import LogSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_context: ContextVar[Mapping[str, str] | None] = ContextVar("servicekit_log_context", default=None)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add `fields` (those not None) to every line logged in this block, in this task and those it starts."""
    token = _context.set({**current_context(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, str]:
    """The fields `log_context` set for the block running now."""
    return _context.get() or {}


def current_ids() -> dict[str, str]:
    """The current span's trace and span ids; empty outside any span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {"trace_id": format_trace_id(span_context.trace_id), "span_id": format_span_id(span_context.span_id)}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp (UTC, ISO 8601), level, logger, message, service (and role), the context's
    fields, and the exception's traceback if any."""

    def __init__(self, service: str, role: str = "") -> None:
        super().__init__()
        self._service = service
        self._role = role

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self._service,
        }
        if self._role:
            line["role"] = self._role
        line.update(current_ids())  # the span's own ids, where the line is logged within one
        line.update(current_context())  # what the handler of the record or request said, if more
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(service: str, settings: LogSettings, *, role: str = "") -> None:
    """The process's logging: every logger's lines on stderr, as JSON (or plain text), from `settings.level` up."""
    handler = logging.StreamHandler()
    if settings.format == "json":
        handler.setFormatter(JsonFormatter(service, role))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.level, handlers=[handler], force=True)
