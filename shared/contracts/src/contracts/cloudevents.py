"""CloudEvents 1.0 Kafka protocol binding, binary content mode: attributes in `ce_*` headers, data as JSON body.

Any Kafka client can read our events: the key is the aggregate id, the body is plain JSON.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from contracts.base import Event
from contracts.registry import OUR_TYPE_PREFIXES, event_class

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_SPEC_VERSION_HEADER = ("ce_specversion", SPEC_VERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())
Headers = list[tuple[str, bytes]]


class PoisonMessage(ValueError):
    """A record that can never be processed as it is: it belongs in the dead-letter topic."""


class KafkaRecord(NamedTuple):
    key: bytes
    value: bytes
    headers: Headers


def to_record(event: Event, *, source: str, extra_headers: Headers | None = None) -> KafkaRecord:
    return encode(event.model_dump(mode="json"), subject=event.subject, source=source,
                  extra_headers=extra_headers)


def envelope(payload: dict[str, Any]) -> tuple[str, str, str]:
    """Takes the envelope fields out of an event dumped to JSON values: its id, type and time (as JSON has them);
    what is left is its data, the record's body."""
    return str(payload.pop("id")), str(payload.pop("type")), str(payload.pop("occurred_at"))


def encode(payload: dict[str, Any], *, subject: str, source: str,
           extra_headers: Headers | None = None) -> KafkaRecord:
    """The record of an event already dumped to JSON values: no model work.

    `payload` is the caller's to give away (a dict dumped or decoded for this record): its envelope fields are taken
    out of it into the headers, and the rest is the body."""
    event_id, type_, time = envelope(payload)
    # compact UTF-8, as json.dumps(separators=(",", ":"), ensure_ascii=False) writes it
    return record(orjson.dumps(payload), event_id=event_id, type_=type_, time=time, subject=subject, source=source,
                  extra_headers=extra_headers)


def record(data: bytes, *, event_id: str, type_: str, time: str, subject: str, source: str,
           extra_headers: Headers | None = None) -> KafkaRecord:
    """The record of an event whose data is already its JSON body (as an outbox row keeps it): the envelope in the
    `ce_*` headers, the body as it is."""
    key = subject.encode()
    headers: Headers = [
        _SPEC_VERSION_HEADER,
        ("ce_id", event_id.encode()),
        ("ce_type", type_.encode()),
        ("ce_source", source.encode()),
        ("ce_subject", key),
        ("ce_time", time.encode()),
        _CONTENT_TYPE_HEADER,
    ]
    if extra_headers:
        headers += extra_headers
    return KafkaRecord(key, data, headers)


# The CloudEvents Distributed Tracing extension: the W3C trace context in which the event was created, as the
# attributes `traceparent` and `tracestate` (in the Kafka binary binding, the `ce_traceparent` and `ce_tracestate`
# headers)
TRACE_ATTRIBUTES = ("traceparent", "tracestate")


def trace_headers(context: Mapping[str, str | None]) -> Headers:
    """The record headers of a W3C trace context (`traceparent`, `tracestate`); nothing for an empty one."""
    return trace_header_pair(context.get("traceparent"), context.get("tracestate"))


def trace_header_pair(traceparent: str | None, tracestate: str | None) -> Headers:
    """The same, from the two values (as an outbox row keeps them)."""
    headers: Headers = []
    if traceparent:
        headers.append(("ce_traceparent", traceparent.encode()))
    if tracestate:
        headers.append(("ce_tracestate", tracestate.encode()))
    return headers


def trace_context(headers: Any) -> dict[str, str]:
    """The W3C trace context a record carries, as the Distributed Tracing extension's headers; empty if none.

    Never raises: a context that is not UTF-8 is dropped (the propagator would refuse it anyway), and the record
    is judged on the rest."""
    found: dict[str, str] = {}
    for name, raw in headers or ():
        attribute = name[3:] if isinstance(name, str) and name.startswith("ce_") else ""
        if attribute in TRACE_ATTRIBUTES and isinstance(raw, bytes | bytearray):
            try:
                found[attribute] = bytes(raw).decode()
            except UnicodeDecodeError:
                continue
    return found


def header_map(headers: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, raw in headers or ():
        try:
            found[name] = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
        except UnicodeDecodeError as exc:
            raise PoisonMessage(f"header {name!r} is not UTF-8") from exc
    return found


def from_record(headers: Any, value: bytes | None) -> Event | None:
    """Decode a record into its event.

    Returns None for a well-formed CloudEvent whose type is not ours (another producer's event on a shared
    topic: not ours to judge). Raises PoisonMessage for anything malformed.
    """
    attrs = header_map(headers)
    missing = [h for h in ("ce_specversion", "ce_id", "ce_type", "ce_time") if h not in attrs]
    if missing:
        raise PoisonMessage(f"missing CloudEvents headers: {', '.join(missing)}")
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise PoisonMessage(f"unsupported ce_specversion {attrs['ce_specversion']!r}")
    cls = event_class(attrs["ce_type"])
    if cls is None:
        _refuse_if_ours(attrs["ce_type"])
        return None
    try:
        data = json.loads(value or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PoisonMessage(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PoisonMessage("body is not a JSON object")
    try:
        time = datetime.fromisoformat(attrs["ce_time"])
        return cls.model_validate({**data, "id": attrs["ce_id"], "type": attrs["ce_type"], "occurred_at": time})
    except (ValidationError, ValueError) as exc:
        raise PoisonMessage(f"{attrs['ce_type']} failed validation: {exc}") from exc


def _refuse_if_ours(type_name: str) -> None:
    """An unknown type under our prefixes is a malformed event; another producer's type is simply not for us."""
    if type_name.startswith(OUR_TYPE_PREFIXES):
        raise PoisonMessage(f"unknown event type {type_name!r}")
