"""Structured logs: one JSON object a line, with the event and the trace being handled when it was written."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from servicekit.logs import JsonFormatter, configure_logging, current_context, log_context
from servicekit.settings import LogSettings
from servicekit.tracing import install_tracer_provider, parent_context, tracer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"

install_tracer_provider("tests")


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("evaluation", "worker"))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def written(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_names_its_time_level_logger_message_and_service(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = lines
    logger.warning("scored %s of %d", "ü", 3)
    [line] = written(out)
    assert line.pop("timestamp").endswith("+00:00")
    assert line == {"level": "WARNING", "logger": "tests.logs", "message": "scored ü of 3", "service": "evaluation",
                    "role": "worker"}


def test_the_event_and_trace_being_handled_are_on_every_line_of_the_block(
        lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = lines
    with log_context(event_id="e-1", event_type="intake.application_submitted.v1", application_id="a-1",
                     trace_id=TRACE_ID, span_id=None):
        logger.info("inside")
        with log_context(event_id="e-2"):
            logger.info("nested")
    logger.info("after")
    inside, nested, after = written(out)
    assert {k: inside[k] for k in ("event_id", "event_type", "application_id", "trace_id")} == {
        "event_id": "e-1", "event_type": "intake.application_submitted.v1", "application_id": "a-1",
        "trace_id": TRACE_ID}
    assert "span_id" not in inside
    assert nested["event_id"] == "e-2" and nested["application_id"] == "a-1"
    assert not {"event_id", "trace_id"} & after.keys()
    assert current_context() == {}


def test_a_line_written_within_a_span_carries_its_trace_and_span_ids(
        lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = lines
    parent = parent_context({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    with tracer().start_as_current_span("handle", context=parent) as span:
        logger.info("handled")
    [line] = written(out)
    assert line["trace_id"] == TRACE_ID
    assert line["span_id"] == f"{span.get_span_context().span_id:016x}"


def test_an_exception_is_logged_with_its_traceback_in_the_same_object(
        lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = lines
    try:
        raise ValueError("bad\nrecord")
    except ValueError:
        logger.exception("failed")
    [line] = written(out)  # one line, however many lines the traceback has
    assert line["message"] == "failed"
    assert line["exception"].startswith("Traceback") and "ValueError: bad\nrecord" in line["exception"]


def test_logging_is_configured_as_json_or_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        configure_logging("billing", LogSettings(), role="api")
        logging.getLogger("billing.x").info("as json")
        configure_logging("billing", LogSettings(format="text", level="WARNING"))
        logging.getLogger("billing.x").info("not at this level")
        logging.getLogger("billing.x").warning("as text")
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    first, second = capsys.readouterr().err.splitlines()
    assert json.loads(first)["message"] == "as json" and json.loads(first)["service"] == "billing"
    assert second.endswith("WARNING billing.x: as text")
