"""The platform's dead letters on the real broker and database: a record a consumer parks is read raw by the
dashboard's worker and shown with its reason until an operator marks it re-driven; garbage on a dead-letter topic
does not stop the reader, a replay keeps each record once, and the list is paged newest parked first."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts import topics
from servicekit.runtime import prepare_topics
from support.auth import OPERATOR, bearer
from support.clock import ManualClock
from support.kafka import produce_raw, rewind, wait_consumed
from support.stack import Stack, eventually, ok

NOW = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
READER_GROUP = "dashboard-dead-letters"


def dlq(stack: Stack, topic: str) -> str:
    return topics.dead_letter(stack.topic(topic))


def parking_headers(consumer: str, source: str, *, error: str = "boom", error_type: str = "builtins.ValueError",
                    handler: str = "on_scored", attempts: int = 3) -> list[tuple[str, bytes]]:
    """The headers servicekit's consumer adds when it parks a record (servicekit.consumer)."""
    return [("dlq_error", error.encode()), ("dlq_error_type", error_type.encode()), ("dlq_handler", handler.encode()),
            ("dlq_attempts", str(attempts).encode()), ("dlq_consumer", consumer.encode()),
            ("dlq_source", source.encode())]


async def park(stack: Stack, topic: str, records: Sequence[dict[str, Any]]) -> None:
    """Write records straight onto a dead-letter topic, in order (each a dict of send_and_wait's arguments)."""
    await prepare_topics(stack.settings("dashboard"))  # as every worker does at start, with their partitions
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(topic, **record)
    finally:
        await producer.stop()


async def letters(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    page = await ok(api.get("/dead-letters", headers=OPERATOR, params=params))
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_a_record_a_consumer_parks_is_shown_with_its_reason_until_marked_re_driven(stack: Stack) -> None:
    event_id = str(uuid.uuid4())
    source = f"{stack.topic(topics.SCORES)}/1/17"
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        # a submission that fails its contract: the dashboard's own consumer parks it on the topic's .dlq
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS),
                          b'{"application_id": "not-a-uuid"}', key=b"app-1", headers=[
                              ("ce_specversion", b"1.0"), ("ce_id", event_id.encode()),
                              ("ce_type", b"intake.application_submitted.v1"),
                              ("ce_time", b"2026-12-01T09:00:00+00:00"), ("ce_source", b"/gpu-platform/test")])
        # and one that allocation's handler kept failing on, parked the same way
        await park(stack, dlq(stack, topics.SCORES), [{"value": b'{"score": 71.5}', "key": b"app-2",
                                                      "headers": parking_headers("allocation", source)}])
        found = await eventually(lambda: _at_least(api, 2), what="both parked records")
        by_consumer = {letter["consumer"]: letter for letter in found}
        scores = await letters(api, topic=stack.topic(topics.SCORES))
        allocation_s = await letters(api, consumer="allocation")
        marked = await ok(api.post(f"/dead-letters/{dlq(stack, topics.APPLICATIONS)}/"
                                   f"{by_consumer['dashboard']['partition']}/{by_consumer['dashboard']['offset']}"
                                   "/redriven", headers=OPERATOR, json={"by": "operator-7"}))
        waiting = await letters(api, redriven="false")
        redriven = await letters(api, redriven="true")
        unknown = await api.post(f"/dead-letters/{dlq(stack, topics.APPLICATIONS)}/0/999/redriven",
                                 headers=OPERATOR, json={})
        scores_marked = await ok(api.post(f"/dead-letters/{dlq(stack, topics.SCORES)}/"
                                          f"{by_consumer['allocation']['partition']}/"
                                          f"{by_consumer['allocation']['offset']}/redriven",
                                          headers=OPERATOR, json={}))
    dashboard = by_consumer["dashboard"]
    assert dashboard["topic"] == dlq(stack, topics.APPLICATIONS)
    assert dashboard["source_topic"] == stack.topic(topics.APPLICATIONS)
    assert (dashboard["handler"], dashboard["attempts"], dashboard["reason"]) == ("decode", 1, "PoisonMessage")
    assert "failed validation" in dashboard["error"]
    assert (dashboard["event_type"], dashboard["event_id"]) == ("intake.application_submitted.v1", event_id)
    assert (dashboard["key"], dashboard["value_excerpt"]) == ("app-1", '{"application_id": "not-a-uuid"}')
    assert dashboard["headers"]["ce_source"] == "/gpu-platform/test"
    assert (dashboard["redriven_at"], dashboard["redriven_by"]) == (None, None)
    allocation = by_consumer["allocation"]
    assert (allocation["source_topic"], allocation["source_partition"], allocation["source_offset"]) == (
        stack.topic(topics.SCORES), 1, 17)
    assert (allocation["reason"], allocation["error"], allocation["attempts"]) == ("builtins.ValueError", "boom", 3)
    # filtered by the topic it came from, and by the service that parked it
    assert [x["consumer"] for x in scores] == [x["consumer"] for x in allocation_s] == ["allocation"]
    # marked re-driven: by whom and when (the dashboard's clock); by default, the caller
    assert (marked["redriven_by"], marked["redriven_at"]) == ("operator-7", "2026-12-01T09:00:00Z")
    assert [x["consumer"] for x in waiting] == ["allocation"] and [x["consumer"] for x in redriven] == ["dashboard"]
    assert scores_marked["redriven_by"] == "operator-tests"
    assert unknown.status_code == 404 and unknown.json()["status"] == 404


async def _at_least(api: httpx.AsyncClient, count: int) -> list[dict[str, Any]] | None:
    found = await letters(api)
    return found if len(found) >= count else None


async def test_garbage_does_not_stop_the_reader_and_a_replay_keeps_each_record_once(stack: Stack) -> None:
    topic = dlq(stack, topics.APPLICATIONS)
    source = f"{stack.topic(topics.APPLICATIONS)}/0/5"
    garbage_value = b"\x00\xff\xfe not even text" + b"x" * 10_000
    await park(stack, topic, [  # one partition, in this order: the good record after the garbage
        {"value": garbage_value, "key": b"\xff\x00", "partition": 0,
         "headers": [("\u00e9", b"\x00\x80"), ("dlq_attempts", b"-1"), ("dlq_source", b"//")]},
        {"value": None, "key": b"tombstone", "partition": 0},
        {"value": b"{}", "partition": 0, "headers": parking_headers("evaluation", source, error="\x00" * 5000)},
    ])
    async with stack.api("dashboard", clock=NOW) as api:
        async with stack.worker("dashboard") as worker:
            found = await eventually(lambda: _at_least(api, 3), what="the three parked records")
            first_read = await eventually(lambda: _read(worker, 3), what="the reader to commit them")
            health = worker.state()
        redriven = await ok(api.post(f"/dead-letters/{topic}/0/{found[0]['offset']}/redriven", headers=OPERATOR,
                                     json={"by": "operator-7"}))
        before = await stack.fetch("SELECT * FROM dashboard.dead_letter ORDER BY seq")
        # read again from the start: nothing is added and nothing changes, the re-driven mark included
        await rewind(stack.infra.kafka_bootstrap, READER_GROUP, [topic])
        async with stack.worker("dashboard") as worker:
            replayed = await eventually(lambda: _read(worker, 3), what="the reader to read them again")
            await wait_consumed(stack.infra.kafka_bootstrap, READER_GROUP, topic)
        after = await stack.fetch("SELECT * FROM dashboard.dead_letter ORDER BY seq")
    garbage, tombstone, good = sorted(found, key=lambda x: x["offset"])
    assert garbage["value_bytes"] == len(garbage_value) and len(garbage["value_excerpt"]) == 4096
    assert "\x00" not in garbage["value_excerpt"] + garbage["key"] + "".join(garbage["headers"].values())
    assert garbage["consumer"] is None and garbage["attempts"] is None
    assert (garbage["source_topic"], garbage["source_partition"]) == (stack.topic(topics.APPLICATIONS), None)
    assert (tombstone["value_excerpt"], tombstone["value_bytes"], tombstone["headers"]) == (None, None, {})
    assert (good["consumer"], good["source_offset"], len(good["error"])) == ("evaluation", 5, 4000)
    assert redriven["redriven_by"] == "operator-7"
    # the reader is a part of the worker, and its health is the worker's
    assert health["alive"] and health["parts"]["dead_letters"]["running"]
    assert (first_read["read"], first_read["kept"], first_read["kept_bare"]) == (3, 3, 0)
    assert (replayed["read"], replayed["kept"]) == (3, 0)
    assert [tuple(row) for row in after] == [tuple(row) for row in before]


async def _read(worker: Any, count: int) -> dict[str, Any] | None:
    """The reader's counters once it has read (and committed) `count` records."""
    stats: dict[str, Any] = worker.health.metrics["dead_letters"]
    return dict(stats) if stats["read"] >= count else None


async def test_the_list_is_newest_parked_first_page_by_page(stack: Stack) -> None:
    topic = dlq(stack, topics.ALLOCATIONS)
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)

    def parked(minutes: int, partition: int) -> dict[str, Any]:
        return {"value": f"parked at +{minutes}".encode(), "partition": partition,
                "timestamp_ms": int((at + timedelta(minutes=minutes)).timestamp() * 1000),
                "headers": parking_headers("billing", f"{stack.topic(topics.ALLOCATIONS)}/{partition}/{minutes}")}

    # read in an order (partition by partition) that is not the order they were parked in
    await park(stack, topic, [parked(2, 0), parked(1, 1), parked(3, 0)])
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        await eventually(lambda: _at_least(api, 3), what="the three parked records")
        first = await ok(api.get("/dead-letters", headers=OPERATOR, params={"limit": 2, "topic": topic}))
        second = await ok(api.get("/dead-letters", headers=OPERATOR,
                                  params={"limit": 2, "topic": topic, "before": first["next_before"]}))
    assert [x["value_excerpt"] for x in first["items"]] == ["parked at +3", "parked at +2"]
    assert first["items"][0]["parked_at"] == "2026-11-30T12:03:00Z"
    assert first["next_before"] == first["items"][-1]["seq"]
    assert [x["value_excerpt"] for x in second["items"]] == ["parked at +1"]
    assert second["next_before"] is None


async def test_every_parameter_is_bounded_and_named_and_only_operators_are_let_in(stack: Stack) -> None:
    place = f"/dead-letters/{dlq(stack, topics.SCORES)}/0/0/redriven"
    async with stack.api("dashboard", clock=NOW) as api:
        reads = [await api.get("/dead-letters", headers=OPERATOR, params={name: value})
                 for name, value in [("limit", "0"), ("limit", "501"), ("before", "0"), ("topic", "no spaces"),
                                     ("topic", "t" * 250), ("redriven", "maybe"), ("consumer", "a\x01b")]]
        marks = [await api.post(path, headers=OPERATOR, json=body) for path, body in [
            (f"/dead-letters/{dlq(stack, topics.SCORES)}/-1/0/redriven", {}),
            (f"/dead-letters/{dlq(stack, topics.SCORES)}/0/{2**63}/redriven", {}),
            (f"/dead-letters/{'t' * 250}/0/0/redriven", {}),
            (place, {"by": ""}), (place, {"by": "x" * 201}), (place, {"by": "a\nb"}), (place, {"who": "me"})]]
        refused = {role: ((await api.get("/dead-letters", headers=bearer(role))).status_code,
                          (await api.post(place, headers=bearer(role), json={})).status_code)
                   for role in ("partner", "reviewer", "csp")}
        anonymous = (await api.get("/dead-letters")).status_code
    assert [r.status_code for r in reads] == [422] * 7
    assert [[e["field"] for e in r.json()["errors"]] for r in reads] == [
        ["query.limit"], ["query.limit"], ["query.before"], ["query.topic"], ["query.topic"], ["query.redriven"],
        ["query.consumer"]]
    assert [r.status_code for r in marks] == [422] * 7
    assert [[e["field"] for e in r.json()["errors"]] for r in marks] == [
        ["path.partition"], ["path.offset"], ["path.topic"], ["by"], ["by"], ["by"], ["who"]]
    assert refused == dict.fromkeys(("partner", "reviewer", "csp"), (403, 403))
    assert anonymous == 401
