"""The AsyncAPI document is generated from the library; the checked-in copy must match it."""
from __future__ import annotations

import json
from pathlib import Path

from contracts import REGISTRY, topics
from contracts.asyncapi import document, render

CHECKED_IN = Path(__file__).resolve().parents[3] / "shared" / "contracts" / "asyncapi.json"


def test_the_checked_in_asyncapi_document_is_current() -> None:
    assert CHECKED_IN.read_text() == render(), (
        "shared/contracts/asyncapi.json is stale: run `make asyncapi`")


def test_the_document_is_asyncapi_3_with_every_topic_and_event() -> None:
    doc = json.loads(render())
    assert doc["asyncapi"] == "3.0.0"
    assert {c["address"] for c in doc["channels"].values()} == set(topics.ALL)
    assert {m["name"] for m in doc["components"]["messages"].values()} == set(REGISTRY)


def test_every_message_reference_resolves() -> None:
    doc = document()
    for channel in doc["channels"].values():
        for message in channel["messages"].values():
            name = message["$ref"].rsplit("/", 1)[-1]
            payload = doc["components"]["messages"][name]["payload"]["$ref"].rsplit("/", 1)[-1]
            assert payload in doc["components"]["schemas"]
