"""A parked record read raw, without a broker: whatever it holds, it is read, bounded and storable."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from dashboard.domain.dead_letters import ERROR_CHARS, VALUE_EXCERPT_BYTES, clean, read_dead_letter

RECEIVED = datetime(2026, 12, 1, 9, tzinfo=UTC)
PARKED_MS = 1_796_000_000_000


def parked_headers(**extra: bytes) -> list[tuple[str, bytes]]:
    return [("ce_specversion", b"1.0"), ("ce_id", b"7c1e0b4e-5c4e-4d43-9c1a-0f3b8f4a1d11"),
            ("ce_type", b"intake.application_submitted.v1"), ("ce_traceparent", b"00-abc-def-01"),
            ("dlq_error", b"intake.application_submitted.v1 failed validation: ..."),
            ("dlq_error_type", b"PoisonMessage"), ("dlq_handler", b"decode"), ("dlq_attempts", b"1"),
            ("dlq_consumer", b"evaluation"), ("dlq_source", b"p.intake.applications.v1/1/42"),
            *extra.items()]


def test_a_parked_record_tells_where_it_came_from_who_parked_it_why_and_what_event_it_was() -> None:
    letter = read_dead_letter("p.intake.applications.v1.dlq", 0, 7, key=b"app-1", value=b'{"gpus": "many"}',
                              headers=parked_headers(), timestamp_ms=PARKED_MS, received_at=RECEIVED)
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("p.intake.applications.v1", 1,
                                                                                    42)
    assert (letter.consumer, letter.handler, letter.attempts, letter.reason) == ("evaluation", "decode", 1,
                                                                                 "PoisonMessage")
    assert letter.error == "intake.application_submitted.v1 failed validation: ..."
    assert (letter.event_type, letter.event_id) == ("intake.application_submitted.v1",
                                                     "7c1e0b4e-5c4e-4d43-9c1a-0f3b8f4a1d11")
    assert (letter.key, letter.value_excerpt, letter.value_bytes) == ("app-1", '{"gpus": "many"}', 16)
    assert letter.parked_at == datetime.fromtimestamp(PARKED_MS / 1000, UTC)
    # the original headers are kept, the parking consumer's are its columns
    assert letter.headers["ce_traceparent"] == "00-abc-def-01"
    assert not [name for name in letter.headers if name.startswith("dlq_")]


def test_garbage_is_read_leniently_bounded_and_without_what_postgresql_refuses() -> None:
    value = b"\x00\xff\xfe" + b"x" * 10_000
    letter = read_dead_letter("p.intake.calls.v1.dlq", 2, 3, key=b"\x00\xc3", value=value,
                              headers=[("dlq_error", b"e" * 9_000 + b"\x00"), ("weird", b"\x80\x00"),
                                       ("dlq_attempts", b"99999999999999999999"), ("dlq_source", b"nonsense")],
                              timestamp_ms=-1, received_at=RECEIVED)
    texts = [letter.key, letter.value_excerpt, letter.error, *letter.headers.values()]
    assert all(t is not None and "\x00" not in t for t in texts)
    assert letter.value_excerpt == "\N{REPLACEMENT CHARACTER}" * 3 + "x" * (VALUE_EXCERPT_BYTES - 3)
    assert letter.value_bytes == len(value)
    assert letter.error is not None and len(letter.error) == ERROR_CHARS
    assert letter.attempts is None and letter.consumer is None
    # without a usable dlq_source, the topic the dead-letter topic is named after; without a time, when read
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("p.intake.calls.v1", None, None)
    assert letter.parked_at == RECEIVED


def test_a_structured_cloudevent_names_its_type_and_id_in_its_body() -> None:
    body = json.dumps({"specversion": "1.0", "type": "billing.invoice_issued.v2", "id": "inv-1", "data": {}})
    letter = read_dead_letter("billing.invoices.v1.dlq", 0, 0, key=None, value=body.encode(), headers=None,
                              timestamp_ms=PARKED_MS, received_at=RECEIVED)
    assert (letter.event_type, letter.event_id, letter.key) == ("billing.invoice_issued.v2", "inv-1", None)
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # deeper than the JSON parser goes
    nested = read_dead_letter("billing.invoices.v1.dlq", 0, 1, key=None, value=deep, headers=[],
                              timestamp_ms=PARKED_MS, received_at=RECEIVED)
    assert nested.event_type is None and nested.value_bytes is not None


def test_a_tombstone_has_no_value_and_a_bare_letter_keeps_its_place_and_origin() -> None:
    letter = read_dead_letter("allocation.allocations.v1.dlq", 1, 9, key=b"k", value=None,
                              headers=parked_headers(), timestamp_ms=PARKED_MS, received_at=RECEIVED)
    assert (letter.value_excerpt, letter.value_bytes) == (None, None)
    bare = letter.bare("not stored as read: \x00boom")
    assert (bare.topic, bare.partition, bare.offset, bare.parked_at) == (letter.topic, 1, 9, letter.parked_at)
    assert (bare.source_topic, bare.consumer, bare.reason) == (letter.source_topic, "evaluation", "unreadable")
    assert bare.error == "not stored as read: \N{REPLACEMENT CHARACTER}boom" and bare.key is None


def test_clean_text_passes_unchanged() -> None:
    assert clean("line one\nline two") == "line one\nline two"
    assert clean(b"caf\xc3\xa9", 3) == "caf"
