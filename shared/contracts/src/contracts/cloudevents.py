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

from contracts.base import ENVELOPE_FIELDS, Event
from contracts.registry import OUR_TYPE_PREFIXES, event_class

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_SPEC_VERSION, _CONTENT_TYPE = SPEC_VERSION.encode(), CONTENT_TYPE.encode()
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


def encode(payload: dict[str, Any], *, subject: str, source: str,
           extra_headers: Headers | None = None) -> KafkaRecord:
    """The record of an event already dumped to JSON values (as an outbox row keeps it): no model work."""
    key = subject.encode()
    headers: Headers = [
        ("ce_specversion", _SPEC_VERSION),
        ("ce_id", str(payload["id"]).encode()),
        ("ce_type", str(payload["type"]).encode()),
        ("ce_source", source.encode()),
        ("ce_subject", key),
        ("ce_time", str(payload["occurred_at"]).encode()),
        ("content-type", _CONTENT_TYPE),
    ]
    if extra_headers:
        headers += extra_headers
    data = {k: v for k, v in payload.items() if k not in ENVELOPE_FIELDS}
    body = orjson.dumps(data)  # compact UTF-8, as json.dumps(separators=(",", ":"), ensure_ascii=False) writes it
    return KafkaRecord(key, body, headers)


# The CloudEvents Distributed Tracing extension: the W3C trace context in which the event was created, as the
# attributes `traceparent` and `tracestate` (in the Kafka binary binding, the `ce_traceparent` and `ce_tracestate`
# headers)
TRACE_ATTRIBUTES = ("traceparent", "tracestate")


def trace_headers(context: Mapping[str, str | None]) -> Headers:
    """The record headers of a W3C trace context (`traceparent`, `tracestate`); nothing for an empty one."""
    return [(f"ce_{name}", value.encode()) for name in TRACE_ATTRIBUTES if (value := context.get(name))]


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
