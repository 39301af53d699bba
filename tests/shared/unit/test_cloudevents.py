"""The CloudEvents Kafka binding: what goes on the wire, and what is refused as poison."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from contracts import (
    REGISTRY,
    ApplicationScored,
    ApplicationWithdrawn,
    PoisonMessage,
    from_record,
    to_record,
    topics,
)
from contracts.registry import events_on


def a_scored_event() -> ApplicationScored:
    return ApplicationScored(
        application_id=uuid.uuid4(), program="P3", score=71.5, policy_version="2026.1", institution="KAIST",
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 1, 31),
        planned_gpu_hours_per_month=1500, occurred_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    )


def test_an_event_travels_as_binary_mode_headers_and_a_plain_json_body() -> None:
    event = a_scored_event()
    record = to_record(event, source="/gpu-platform/evaluation")
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == str(event.id)
    assert headers["ce_type"] == "evaluation.application_scored.v1"
    assert headers["ce_source"] == "/gpu-platform/evaluation"
    assert headers["ce_subject"] == str(event.application_id)
    assert datetime.fromisoformat(headers["ce_time"]) == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert record.key == str(event.application_id).encode()
    body = json.loads(record.value)
    assert body["score"] == 71.5 and "id" not in body and "type" not in body


def test_decoding_gives_back_the_same_event() -> None:
    event = a_scored_event()
    record = to_record(event, source="/x")
    assert from_record(record.headers, record.value) == event


def test_another_producers_event_type_is_not_ours_to_judge() -> None:
    record = to_record(a_scored_event(), source="/x")
    headers = [(k, b"com.example.other.v1" if k == "ce_type" else v) for k, v in record.headers]
    assert from_record(headers, record.value) is None


@pytest.mark.parametrize(("mangle", "reason"), [
    (lambda h, v: ([x for x in h if x[0] != "ce_id"], v), "missing CloudEvents headers: ce_id"),
    (lambda h, v: (h, b"{not json"), "not JSON"),
    (lambda h, v: (h, b"[1, 2]"), "not a JSON object"),
    (lambda h, v: (h, json.dumps({**json.loads(v), "score": -1}).encode()), "failed validation"),
    (lambda h, v: ([(k, b"evaluation.application_scored.v9" if k == "ce_type" else x) for k, x in h], v),
     "unknown event type"),
    (lambda h, v: ([(k, b"0.3" if k == "ce_specversion" else x) for k, x in h], v), "ce_specversion"),
])
def test_malformed_records_are_poison_with_the_reason(mangle, reason) -> None:  # type: ignore[no-untyped-def]
    record = to_record(a_scored_event(), source="/x")
    headers, value = mangle(record.headers, record.value)
    with pytest.raises(PoisonMessage, match=reason):
        from_record(headers, value)


def test_fields_added_by_a_newer_producer_are_ignored() -> None:
    event = ApplicationWithdrawn(application_id=uuid.uuid4(), reason="x")
    record = to_record(event, source="/x")
    body = json.dumps({**json.loads(record.value), "added_later": 1}).encode()
    assert from_record(record.headers, body) == event


def test_every_type_name_is_versioned_and_every_topic_carries_events() -> None:
    assert all(name.rsplit(".", 1)[-1].startswith("v") for name in REGISTRY)
    assert all(events_on(topic) for topic in topics.ALL)
    assert len(REGISTRY) >= 10


def test_a_scored_event_whose_period_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="period_end is before period_start"):
        ApplicationScored.model_validate({**a_scored_event().model_dump(), "period_end": date(2026, 11, 1)})


def test_an_allocation_whose_slots_do_not_match_its_gpus_is_poison_on_the_wire() -> None:
    from contracts import GpuSlot, ResourceAllocated

    start = datetime(2026, 12, 1, tzinfo=UTC)
    event = ResourceAllocated(
        application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program="P3", gpu_model="H100", gpus=1,
        slots=[GpuSlot(server_id=uuid.uuid4(), server_name="p3-gov-01", csp="gov", gpu_index=0)],
        starts_at=start, ends_at=start.replace(month=12, day=31), planned_gpu_hours_per_month=100)
    record = to_record(event, source="/x")
    body = json.dumps({**json.loads(record.value), "gpus": 2}).encode()
    with pytest.raises(PoisonMessage, match="slots do not match gpus"):
        from_record(record.headers, body)
