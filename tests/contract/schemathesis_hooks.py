"""Loaded by schemathesis (SCHEMATHESIS_HOOKS): how to send an NDJSON body, which it cannot serialize by itself."""
from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    """Telemetry's sample batches: one JSON document a line; a generated array is one line per item."""
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()
