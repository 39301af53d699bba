"""Raw Kafka access for tests: what any client sees on a topic, and records written by hand."""
from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from servicekit import kafka
from servicekit.settings import KafkaSettings


async def produce_raw(bootstrap: str, topic: str, value: bytes, *, key: bytes | None = None,
                      headers: list[tuple[str, bytes]] | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, *, at_least: int = 1, timeout: float = 30.0,
                     ) -> list[ConsumerRecord]:
    """Every record on `topic` from the start, once at least `at_least` have arrived (or the time is up)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < at_least and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def wait_consumed(bootstrap: str, group: str, topic: str, *, timeout: float = 30.0) -> None:
    """Wait until `group` has committed offsets up to the end of every partition of `topic`."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        # the admin client names the partitions (a bare consumer's metadata may know none: all() of nothing passes)
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        assert partitions, f"topic {topic} has no partitions"
        ends = await probe.end_offsets(partitions)
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            if all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in partitions):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"group {group} did not consume {topic} to its end within {timeout}s")
    finally:
        await probe.stop()
        await admin.close()


async def delete_topics_with_prefix(bootstrap: str, prefix: str) -> None:
    """A test's topics go when the test does, so the broker stays small and restarts fast."""
    await kafka.delete_topics_with_prefix(KafkaSettings(bootstrap_servers=bootstrap), prefix, client_id="test-cleanup")


async def rewind(bootstrap: str, group: str, topic_names: list[str]) -> None:
    """Set the consumer group's offsets on every partition of these topics back to their start (topics that do not
    exist are passed over), as an operator rebuilding a read model would."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topic_names)
    finally:
        await admin.close()
    partitions = [TopicPartition(d["topic"], p["partition"]) for d in described if not d["error_code"]
                  for p in d["partitions"]]
    assert partitions, f"no partition of {topic_names}"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(dict.fromkeys(partitions, 0))
    finally:
        await consumer.stop()
