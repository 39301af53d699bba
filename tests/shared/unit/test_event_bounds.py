"""Events out of bounds are poison: a date no handler can do arithmetic on, an integer no column holds, a control
character no text column stores, an infinite amount. Each fails validation instead of reaching a handler."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts import ApplicationSubmitted, InvoiceIssued, PoisonMessage, from_record, to_record
from contracts.bounds import LATEST_DATE


def a_p3_submission() -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P3",
        applicant={"name": "Dr. Kim", "sector": "academia", "institution": "KAIST", "region": "Daejeon"},
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
        planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM", earliest_start=date(2026, 12, 1),
        acceptable_window_months=3)


def tampered(event: ApplicationSubmitted, **changes: Any) -> tuple[Any, bytes]:
    """The event's record with fields of its body replaced, as a producer without our contracts might send it."""
    record = to_record(event, source="/test")
    body = {**json.loads(record.value), **changes}
    return record.headers, json.dumps(body).encode()


def test_a_p3_submission_within_the_bounds_decodes() -> None:
    event = a_p3_submission()
    record = to_record(event, source="/test")
    assert from_record(record.headers, record.value) == event


@pytest.mark.parametrize("changes", [
    {"period_end": "9999-12-31"},
    {"earliest_start": "9999-12-31"},
    {"period_start": "0001-01-01"},
    {"period_end": LATEST_DATE.replace(year=LATEST_DATE.year + 1).isoformat()},
], ids=["period-ending-in-9999", "earliest-start-in-9999", "period-starting-in-year-1", "a-year-past-the-bound"])
def test_a_submission_dated_beyond_the_calendar_bounds_is_poison(changes: dict[str, Any]) -> None:
    headers, value = tampered(a_p3_submission(), **changes)
    with pytest.raises(PoisonMessage, match=next(iter(changes))):
        from_record(headers, value)


@pytest.mark.parametrize("changes", [
    {"gpus_requested": 2**31},
    {"planned_gpu_hours_per_month": 2**31},
    {"purpose": "fine-tuning\x00"},
    {"applicant": {"name": "Dr.\x00Kim", "sector": "academia", "institution": "KAIST", "region": "Daejeon"}},
    {"gpu_model": "H100\x1b[2J"},
], ids=["gpus-beyond-a-32-bit-column", "planned-hours-beyond-a-32-bit-column", "nul-in-the-purpose",
        "nul-in-the-applicant-name", "escape-sequence-in-the-gpu-model"])
def test_a_submission_with_a_value_no_column_can_hold_is_poison(changes: dict[str, Any]) -> None:
    headers, value = tampered(a_p3_submission(), **changes)
    with pytest.raises(PoisonMessage):
        from_record(headers, value)


def test_a_purpose_may_span_lines_and_tabs() -> None:
    headers, value = tampered(a_p3_submission(), purpose="line one\r\n\tline two")
    decoded = from_record(headers, value)
    assert isinstance(decoded, ApplicationSubmitted) and decoded.purpose == "line one\r\n\tline two"


def test_an_event_whose_time_header_is_in_the_year_9999_is_poison() -> None:
    record = to_record(a_p3_submission(), source="/test")
    headers = [(k, b"9999-12-31T23:00:00-05:00" if k == "ce_time" else v) for k, v in record.headers]
    with pytest.raises(PoisonMessage, match="occurred_at"):
        from_record(headers, record.value)


@pytest.mark.parametrize("changes", [
    {"total_krw": 2**63},
    {"total_krw": float("inf")},  # json writes Infinity, and reads it
    {"total_krw": -1},
    {"month": "9999-12-01"},
], ids=["total-beyond-a-bigint", "infinite-total", "negative-total", "month-in-9999"])
def test_an_invoice_of_a_total_no_column_holds_or_of_a_month_beyond_the_calendar_is_poison(
        changes: dict[str, Any]) -> None:
    event = InvoiceIssued(document_id=uuid.uuid4(), number="INV-2026-000042", partner_id=uuid.uuid4(),
                          payer_kind="applicant", payer_name="Acme AI", month=date(2026, 11, 1), total_krw=30_000,
                          application_ids=[uuid.uuid4()], issued_at=datetime(2026, 12, 1, tzinfo=UTC),
                          occurred_at=datetime(2026, 12, 1, tzinfo=UTC))
    record = to_record(event, source="/test")
    assert from_record(record.headers, record.value) == event
    body = json.dumps({**json.loads(record.value), **changes}).encode()
    with pytest.raises(PoisonMessage, match=next(iter(changes))):
        from_record(record.headers, body)
