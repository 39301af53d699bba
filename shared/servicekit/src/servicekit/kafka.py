"""Kafka clients built the same way everywhere: idempotent producer, manual-commit consumer, topic set-up."""
from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from murmurhash2 import murmurhash2

from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)
FETCH_TOGETHER_BYTES = 1_048_576  # with a fetch wait: what the broker gathers before it answers early


KEY_HASH_SEED = 0x9747B28C  # the seed Kafka's clients hash keys with


def murmur2(data: bytes) -> int:
    """Kafka's key hash (the Java client's `Utils.murmur2`): MurmurHash2 with Kafka's seed, in compiled code (~0.2 µs
    for a 36-byte key; aiokafka's default partitioner computes it in Python a byte at a time, ~5 µs)."""
    return murmurhash2(data, KEY_HASH_SEED)


def partition_for(key: bytes | None, partitions: Sequence[int], available: Sequence[int] | None = None) -> int:
    """The partition Kafka's default partitioner gives a key (murmur2 of it, over the topic's partitions in order);
    a record without a key goes to any available one."""
    if key is None:
        return random.choice(available or partitions)
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


def make_producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, client_id=client_id,
        acks="all", enable_idempotence=True, request_timeout_ms=settings.request_timeout_ms,
        linger_ms=settings.linger_ms, max_batch_size=settings.batch_bytes, partitioner=partition_for,
    )


def make_consumer(settings: KafkaSettings, *topics: str, group_id: str) -> AIOKafkaConsumer:
    wait_ms = settings.fetch_wait_ms or 0
    return AIOKafkaConsumer(
        *topics, bootstrap_servers=settings.bootstrap_servers, group_id=group_id, client_id=group_id,
        enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
        # the broker answers a fetch once it has this much, or the wait is over (0: as soon as there is a record)
        fetch_min_bytes=FETCH_TOGETHER_BYTES if wait_ms else 1, fetch_max_wait_ms=wait_ms or 500,
        request_timeout_ms=max(settings.request_timeout_ms, 40_000),
        session_timeout_ms=10_000, heartbeat_interval_ms=3_000, metadata_max_age_ms=30_000,
    )


def make_admin(settings: KafkaSettings, *, client_id: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id=client_id,
                               request_timeout_ms=settings.request_timeout_ms)


async def ensure_topics(settings: KafkaSettings, names: list[str], *, client_id: str) -> None:
    """Create the topics (already prefixed) that are missing; an existing topic is left as it is."""
    admin = make_admin(settings, client_id=client_id)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        if not missing:
            return
        new = [NewTopic(name=n, num_partitions=settings.topic_partitions,
                        replication_factor=settings.topic_replication_factor) for n in missing]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass
        log.info("created topics %s", missing)
    finally:
        await admin.close()


async def delete_topics_with_prefix(settings: KafkaSettings, prefix: str, *, client_id: str) -> list[str]:
    """Delete every topic whose name starts with `prefix` (a test's, a benchmark's or an environment's, on one
    broker); the names deleted."""
    if not prefix:
        raise ValueError("an empty prefix would name every topic")
    admin = make_admin(settings, client_id=client_id)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()
