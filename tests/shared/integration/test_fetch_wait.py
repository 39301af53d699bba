"""A consumer's fetch wait on the real broker: with one, records that arrive a little apart are fetched together;
without, each as soon as it is there."""
from __future__ import annotations

import asyncio
import uuid

from servicekit.kafka import ensure_topics, make_consumer, make_producer
from servicekit.settings import KafkaSettings
from support.stack import Stack

RECORDS, APART_S = 4, 0.25  # over 0.75 s: within one fetch wait of 1 s, or across the end of at most one


async def polls_to_read(stack: Stack, wait_ms: int) -> int:
    """How many polls bring the records, produced APART_S apart to one partition, to a consumer with `wait_ms`."""
    settings = KafkaSettings(bootstrap_servers=stack.infra.kafka_bootstrap, fetch_wait_ms=wait_ms, topic_partitions=1)
    topic = stack.topic(f"fetch-wait-{uuid.uuid4().hex[:6]}")
    await ensure_topics(settings, [topic], client_id="test")
    consumer = make_consumer(settings, topic, group_id=f"test-{uuid.uuid4().hex[:8]}")
    producer = make_producer(settings, client_id="test")
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():  # joined the group, at the start of the empty topic
            assert not await consumer.getmany(timeout_ms=100)

        async def produce() -> None:
            for n in range(RECORDS):
                await producer.send_and_wait(topic, str(n).encode())
                await asyncio.sleep(APART_S)

        producing = asyncio.create_task(produce())
        polls, read = 0, 0
        async with asyncio.timeout(30):
            while read < RECORDS:
                if fetched := sum(len(r) for r in (await consumer.getmany(timeout_ms=100)).values()):
                    polls, read = polls + 1, read + fetched
        await producing
        return polls
    finally:
        await producer.stop()
        await consumer.stop()


async def test_records_a_little_apart_are_fetched_together_with_a_fetch_wait_and_one_by_one_without(
        stack: Stack) -> None:
    assert await polls_to_read(stack, 0) == RECORDS
    assert await polls_to_read(stack, 1000) <= 2
