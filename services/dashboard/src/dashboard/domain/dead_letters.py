"""A dead letter as the dashboard keeps it: a record some consumer of the platform parked on `<topic>.dlq`, read
raw, with where it came from, who parked it and why (the `dlq_*` headers the parking consumer adds, see
docs/messaging.md), the event it was meant to be as far as its headers or body tell, and a bounded excerpt of it.

Reading one never fails: the record may be anything (it was parked because it could not be processed), so every
part of it is decoded leniently, bounded, and cleared of what PostgreSQL cannot store (NUL).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VALUE_EXCERPT_BYTES = 4096  # the first 4 KiB of a parked value are kept, as text
ERROR_CHARS = 4000  # as much as the parking consumer sends (`dlq_error`)
NAME_CHARS = 255  # topics (Kafka allows 249), consumer groups, handlers, error classes, event types and ids
KEY_CHARS = 1000
HEADER_CHARS = 1000
MAX_HEADERS = 64  # original headers kept at most (CloudEvents attributes, the trace context)
STRUCTURED_BODY_BYTES = 1_048_576  # a body larger than this is not parsed to find its event's type and id
DLQ_HEADER_PREFIX = "dlq_"
DLQ_SUFFIX = ".dlq"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
LATEST_TIMESTAMP_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


@dataclass(frozen=True)
class DeadLetter:
    """A parked record: its place on the dead-letter topic (its identity), and what it tells of itself."""

    topic: str
    partition: int
    offset: int
    parked_at: datetime
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    consumer: str | None = None
    handler: str | None = None
    attempts: int | None = None
    reason: str | None = None
    error: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    key: str | None = None
    value_excerpt: str | None = None
    value_bytes: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def bare(self, why: str) -> DeadLetter:
        """Its place, time and origin only, with `why` as its error: what is kept of a record whose reading could
        not be stored, so that an operator still sees it was parked."""
        return DeadLetter(self.topic, self.partition, self.offset, self.parked_at, source_topic=self.source_topic,
                          source_partition=self.source_partition, source_offset=self.source_offset,
                          consumer=self.consumer, reason="unreadable", error=clean(why, ERROR_CHARS))


def read_dead_letter(topic: str, partition: int, offset: int, *, key: bytes | None, value: bytes | None,
                     headers: Iterable[tuple[Any, Any]] | None, timestamp_ms: int | None,
                     received_at: datetime) -> DeadLetter:
    """The dead letter of a raw record; `received_at` stands for its time if the record's own is unusable."""
    parking, original = _headers(headers)
    source_topic, source_partition, source_offset = _source(parking.get("dlq_source"), topic)
    body = _structured_body(value)
    return DeadLetter(
        topic=clean(topic, NAME_CHARS) or "", partition=partition, offset=offset,
        parked_at=_time(timestamp_ms) or received_at,
        source_topic=source_topic, source_partition=source_partition, source_offset=source_offset,
        consumer=clean(parking.get("dlq_consumer"), NAME_CHARS),
        handler=clean(parking.get("dlq_handler"), NAME_CHARS),
        attempts=_number(parking.get("dlq_attempts"), INT32_MAX),
        reason=clean(parking.get("dlq_error_type"), NAME_CHARS),
        error=clean(parking.get("dlq_error"), ERROR_CHARS),
        event_type=clean(original.get("ce_type") or _string(body.get("type")), NAME_CHARS),
        event_id=clean(original.get("ce_id") or _string(body.get("id")), NAME_CHARS),
        key=clean(key, KEY_CHARS),
        value_excerpt=None if value is None else clean(value[:VALUE_EXCERPT_BYTES]),
        value_bytes=None if value is None else min(len(value), INT32_MAX),
        headers=original,
    )


def clean(raw: bytes | str | None, limit: int | None = None) -> str | None:
    """Text that any column can hold: bytes decoded as UTF-8 (what is not, replaced), NUL replaced, at most
    `limit` characters."""
    if raw is None:
        return None
    text = raw.decode(errors="replace") if isinstance(raw, bytes | bytearray) else str(raw)
    if not text.isprintable():  # the common case skips both: printable text has neither NUL nor surrogates
        text = text.encode(errors="replace").decode().replace("\x00", "\N{REPLACEMENT CHARACTER}")
    return text if limit is None else text[:limit]


def _headers(headers: Iterable[tuple[Any, Any]] | None) -> tuple[dict[str, str], dict[str, str]]:
    """The parking consumer's `dlq_*` headers, and the record's original ones (the first `MAX_HEADERS`), as text;
    of a header given twice, the last."""
    parking: dict[str, str] = {}
    original: dict[str, str] = {}
    for name, raw in headers or ():
        name = clean(name, NAME_CHARS) or ""
        value = clean(raw, HEADER_CHARS if not name.startswith(DLQ_HEADER_PREFIX) else ERROR_CHARS) or ""
        if name.startswith(DLQ_HEADER_PREFIX):
            parking[name] = value
        elif name in original or len(original) < MAX_HEADERS:
            original[name] = value
    return parking, original


def _source(found: str | None, topic: str) -> tuple[str | None, int | None, int | None]:
    """Where the record was parked from: `topic/partition/offset`; without it, the topic the dead-letter topic is
    named after."""
    parts = (found or "").rsplit("/", 2)
    if len(parts) == 3 and parts[0]:
        partition, offset = _number(parts[1], INT32_MAX), _number(parts[2], INT64_MAX)
        if partition is not None and offset is not None:
            return clean(parts[0], NAME_CHARS), partition, offset
    named_after = topic[:-len(DLQ_SUFFIX)] if topic.endswith(DLQ_SUFFIX) else None
    return clean(named_after, NAME_CHARS), None, None


def _number(text: str | None, largest: int) -> int | None:
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= largest else None


def _time(timestamp_ms: int | None) -> datetime | None:
    if not isinstance(timestamp_ms, int) or not 0 < timestamp_ms <= LATEST_TIMESTAMP_MS:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def _structured_body(value: bytes | None) -> dict[str, Any]:
    """The body, if it is a JSON object (a CloudEvent in structured mode names its type and id there)."""
    if not value or len(value) > STRUCTURED_BODY_BYTES or value.lstrip()[:1] != b"{":
        return {}
    try:
        found = json.loads(value)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
        return {}
    return found if isinstance(found, dict) else {}


def _string(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
