"""Generates the AsyncAPI 3.0 document of every topic and event from the library itself.

`python -m contracts.asyncapi > shared/contracts/asyncapi.json` rewrites the checked-in copy; a test fails when
the copy is stale.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from pydantic.json_schema import models_json_schema

from contracts import topics
from contracts.base import ENVELOPE_FIELDS, Event
from contracts.registry import EVENT_CLASSES, events_on

PRODUCERS = {
    topics.APPLICATIONS: "intake",
    topics.CALLS: "intake",
    topics.SCORES: "evaluation",
    topics.ROUNDS: "evaluation",
    topics.ALLOCATIONS: "allocation",
    topics.UTILIZATION: "telemetry",
    topics.INVOICES: "billing",
}


def _message_name(cls: type[Event]) -> str:
    return cls.__name__


def _payload_schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(cls, "serialization") for cls in EVENT_CLASSES], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = top.get("$defs", {})
    for cls in EVENT_CLASSES:
        body = schemas[cls.__name__]
        for name in ENVELOPE_FIELDS:
            body["properties"].pop(name, None)
            if name in body.get("required", []):
                body["required"].remove(name)
    return schemas


def _message(cls: type[Event]) -> dict[str, Any]:
    return {
        "name": cls.type_name(),
        "title": cls.__name__,
        "summary": (cls.__doc__ or "").strip().splitlines()[0],
        "contentType": "application/json",
        "bindings": {"kafka": {"key": {"type": "string", "description": f"the {cls.subject_field}"}}},
        "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
        "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
        "correlationId": {"location": "$message.header#/ce_subject"},
    }


CLOUDEVENT_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 Kafka binding, binary content mode.",
    "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid"},
        "ce_type": {"type": "string"},
        "ce_source": {"type": "string"},
        "ce_subject": {"type": "string"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_traceparent": {"type": "string", "description": "Distributed Tracing extension: the W3C traceparent "
                                                            "of the span the event was created in."},
        "ce_tracestate": {"type": "string", "description": "Distributed Tracing extension: its W3C tracestate, "
                                                           "if any."},
    },
}


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics.ALL:
        channel_id = topic.replace(".", "_")
        messages = {_message_name(cls): {"$ref": f"#/components/messages/{_message_name(cls)}"}
                    for cls in events_on(topic)}
        channels[channel_id] = {"address": topic, "messages": messages}
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Published by {PRODUCERS[topic]}",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in messages],
        }
    schemas = _payload_schemas()
    schemas["CloudEventHeaders"] = CLOUDEVENT_HEADERS
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "GPU platform events", "version": "1.0.0",
                 "description": "Events exchanged by intake, evaluation, allocation, telemetry and billing."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": {cls.__name__: _message(cls) for cls in EVENT_CLASSES}, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
