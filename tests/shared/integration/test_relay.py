"""The outbox relay on the real database and broker: a backlog goes out once each, each key's events in order on the
partition Kafka's clients give the key, several statements of rows to a transaction; and a failure in any of them
leaves every row of the transaction unpublished."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import insert

from contracts import ApplicationWithdrawn
from intake.adapters.orm import messaging
from servicekit.db import make_engine
from servicekit.kafka import ensure_topics
from servicekit.relay import OutboxRelay
from servicekit.settings import OutboxSettings
from support.kafka import read_topic
from support.stack import Stack

KEYS, EACH = 7, 40  # 280 rows: 5 statements of 64, over 2 transactions of 3
SETTINGS = OutboxSettings(batch_size=64, batches_per_commit=3)


async def backlog(stack: Stack, topic: str, keys: list[uuid.UUID], *, spoil: Any = None) -> None:
    """Outbox rows for `keys`, their events interleaved; `spoil` (if any) changes one of them."""
    rows = []
    for n in range(EACH):
        for key in keys:
            event = ApplicationWithdrawn(application_id=key, reason=f"{n}")
            rows.append({"event_id": event.id, "topic": topic, "key": event.subject, "type": event.type,
                         "payload": event.model_dump(mode="json")})
    if spoil is not None:
        spoil(rows)
    engine = make_engine(stack.settings("intake").db)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(messaging.outbox), rows)
    finally:
        await engine.dispose()


def relay(stack: Stack, settings: OutboxSettings = SETTINGS) -> tuple[OutboxRelay, Any]:
    service = stack.settings("intake")
    engine = make_engine(service.db)
    return OutboxRelay(engine, messaging, service.kafka, settings, source="/test", client_id="test-relay"), engine


async def test_a_backlog_goes_out_once_each_in_order_on_each_keys_partition(stack: Stack) -> None:
    service = stack.settings("intake")
    topic = stack.topic(f"relay-{uuid.uuid4().hex[:6]}")
    await ensure_topics(service.kafka, [topic], client_id="test")
    keys = [uuid.uuid4() for _ in range(KEYS)]
    await backlog(stack, topic, keys)
    publisher, engine = relay(stack)
    try:
        sent = [await publisher.publish_batch() for _ in range(3)]
    finally:
        await publisher._drop_producer()
        await engine.dispose()
    assert sent == [3 * 64, KEYS * EACH - 3 * 64, 0]  # three statements in the first transaction, the rest after
    assert await stack.count("intake.outbox WHERE published_at IS NULL") == 0

    records = await read_topic(stack.infra.kafka_bootstrap, topic, at_least=KEYS * EACH)
    assert len(records) == KEYS * EACH
    partitions = list(range(service.kafka.topic_partitions))
    default = DefaultPartitioner()
    for key in keys:
        mine = [r for r in records if r.key == str(key).encode()]
        assert {r.partition for r in mine} == {default(str(key).encode(), partitions, partitions)}
        assert [int(r.value.decode().split('"reason":"')[1].split('"')[0]) for r in sorted(
            mine, key=lambda r: r.offset)] == list(range(EACH))  # written in order, once each
    assert len({r.partition for r in records}) > 1  # the keys spread: the order held across partitions too


def unencodable(at: int) -> Any:
    def spoil(rows: list[dict[str, Any]]) -> None:
        del rows[at]["payload"]["occurred_at"]  # no event the services write lacks it
    return spoil


def unknown_topic(at: int) -> Any:
    def spoil(rows: list[dict[str, Any]]) -> None:
        rows[at]["topic"] = "not a topic name!"
    return spoil


@pytest.mark.parametrize(("spoil", "raised"), [
    # at once, while the next statement is still reading
    (unencodable(10), KeyError),
    (unknown_topic(150), Exception),  # in the third statement, when the producer gives up on the topic
], ids=["the first statement's rows fail to encode", "Kafka refuses a row of the third statement"])
async def test_a_failure_leaves_every_row_of_its_transaction_unpublished(stack: Stack, spoil: Any,
                                                                         raised: type[Exception]) -> None:
    service = stack.settings("intake")
    topic = stack.topic(f"relay-{uuid.uuid4().hex[:6]}")
    await ensure_topics(service.kafka, [topic], client_id="test")
    await backlog(stack, topic, [uuid.uuid4() for _ in range(KEYS)], spoil=spoil)
    publisher, engine = relay(stack)
    try:
        with pytest.raises(raised):
            await publisher.publish_batch()
        assert publisher.published == 0
        assert await stack.count("intake.outbox WHERE published_at IS NULL") == KEYS * EACH
        # the relay's connection went back clean: the next transaction reads again from the first row
        async with engine.begin() as conn:
            assert len(await publisher._claim_rows(conn, 5)) == 5
            await conn.rollback()
    finally:
        await publisher._drop_producer()
        await engine.dispose()
