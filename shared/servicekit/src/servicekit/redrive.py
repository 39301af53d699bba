"""Re-drive: an operator sends a service's parked records back to their topics once the cause is mended.

`python -m <svc> redrive` reads every dead-letter topic up to its end as it was when the command started, takes the
records this service parked (`dlq_consumer`), and publishes each to the topic it came from with its original key and
headers. Every consumer of that topic sees it again; their inboxes skip the ones they had already processed, so a
re-drive changes nothing but what was parked.

`redrive_one` sends back one parked record, named by its dead-letter topic, partition and offset (the operators'
`POST /dead-letters/redrive`, servicekit.redrive_api); it refuses, publishing nothing, a topic that is not one of this
deployment's dead-letter topics, a place that holds no record, and a record another service's consumer parked.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts import topics
from servicekit.kafka import make_admin, make_producer
from servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)
DLQ_HEADER_PREFIX = "dlq_"
DLQ_SUFFIX = topics.dead_letter("")
READ_WAIT_S = 10.0  # how long redrive_one waits for a record the broker says is there


@dataclass
class Redriven:
    sent: int = 0
    skipped: int = 0  # parked by another service's consumer


@dataclass(frozen=True)
class RedrivenRecord:
    """One parked record sent back: where it was parked, where it went, and whose consumer had parked it."""

    topic: str
    partition: int
    offset: int
    source: str
    consumer: str


@dataclass(frozen=True)
class ParkedRecord:
    """What the consumer that parked a record wrote on it (servicekit.consumer): its own name, the topic the record
    came from, and beside them the record's original headers, which a re-drive sends back unchanged."""

    consumer: str
    source: str
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, record: ConsumerRecord) -> ParkedRecord:
        headers: list[tuple[str, bytes]] = list(record.headers or ())
        named = dict(headers)
        return cls(consumer=named.get("dlq_consumer", b"").decode(errors="replace"),
                   source=named.get("dlq_source", b"").decode(errors="replace").rsplit("/", 2)[0],
                   headers=[(k, v) for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)])


class RedriveRefused(Exception):
    """Why a record is not sent back; `field` names the part of the request at fault, if one is."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field or self.field


class UnknownDeadLetterTopic(RedriveRefused):
    field = "topic"


class NoParkedRecord(RedriveRefused):
    field = "offset"


class ParkedElsewhere(RedriveRefused):
    """The record is another service's to re-drive: `consumer` names the one that parked it ('' if none did)."""

    def __init__(self, message: str, *, consumer: str) -> None:
        super().__init__(message)
        self.consumer = consumer


async def redrive(settings: ServiceSettings, *, limit: int = 10_000, dry_run: bool = False) -> Redriven:
    group = f"{settings.service_name}-redrive"
    consumer = _reader(settings, group_id=group)
    producer = make_producer(settings.kafka, client_id=group)
    await consumer.start()
    await producer.start()
    done = Redriven()
    try:
        partitions = await _partitions(settings, dead_letter_topics(settings))
        if not partitions:
            return done
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        while done.sent < limit and [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=min(500, limit - done.sent))
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    parked = ParkedRecord.of(record)
                    if parked.consumer != settings.service_name:
                        done.skipped += 1
                        continue
                    if not dry_run:
                        await _send_back(producer, record, parked)
                    done.sent += 1
            if not dry_run:
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return done


async def redrive_one(settings: ServiceSettings, topic: str, partition: int, offset: int, *,
                      wait_s: float = READ_WAIT_S) -> RedrivenRecord:
    """Send the record parked at `topic`/`partition`/`offset` back to the topic it came from, with its key and its
    original headers, if this service's consumer parked it; else raise a RedriveRefused and publish nothing."""
    if topic not in dead_letter_topics(settings):
        raise UnknownDeadLetterTopic(f"{topic!r} is not a dead-letter topic of this deployment")
    tp = TopicPartition(topic, partition)
    if tp not in await _partitions(settings, [topic]):
        raise NoParkedRecord(f"{topic} has no partition {partition}", field="partition")
    record = await _record_at(settings, tp, offset, wait_s)
    parked = ParkedRecord.of(record)
    if parked.consumer != settings.service_name:
        owner = f"{parked.consumer}'s consumer" if parked.consumer else "no consumer (no dlq_consumer header)"
        raise ParkedElsewhere(f"{topic}/{partition}/{offset} was parked by {owner}, not {settings.service_name}'s: "
                              f"only the service that parked a record re-drives it", consumer=parked.consumer)
    if parked.source != topic.removesuffix(DLQ_SUFFIX):
        raise ParkedElsewhere(f"{topic}/{partition}/{offset} says it came from {parked.source!r}, not from the topic "
                              f"it is parked for: it was not parked by a consumer", consumer=parked.consumer)
    producer = make_producer(settings.kafka, client_id=f"{settings.service_name}-redrive")
    try:
        await producer.start()
        await _send_back(producer, record, parked)
    finally:
        await producer.stop()
    return RedrivenRecord(topic, partition, offset, parked.source, parked.consumer)


def dead_letter_topics(settings: ServiceSettings) -> list[str]:
    """This deployment's dead-letter topics (its topic prefix included): where its consumers park records."""
    return [topics.dead_letter(settings.kafka.topic(t)) for t in topics.ALL]


async def _send_back(producer: AIOKafkaProducer, record: ConsumerRecord, parked: ParkedRecord) -> None:
    await producer.send_and_wait(parked.source, record.value, key=record.key, headers=parked.headers)
    log.info("re-drove %s/%s/%s to %s", record.topic, record.partition, record.offset, parked.source)


def _reader(settings: ServiceSettings, *, group_id: str | None = None) -> AIOKafkaConsumer:
    """A consumer of the dead-letter topics, by assignment: committed records only, offsets committed by hand."""
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, group_id=group_id,
                            client_id=f"{settings.service_name}-redrive", enable_auto_commit=False,
                            auto_offset_reset="earliest", isolation_level="read_committed")


async def _record_at(settings: ServiceSettings, tp: TopicPartition, offset: int, wait_s: float) -> ConsumerRecord:
    """The record at `offset` of the partition, read by seeking there, waiting at most `wait_s` for it."""
    consumer = _reader(settings)
    try:
        await consumer.start()
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if not first <= offset < end:
            held = f"offsets {first} to {end - 1}" if first < end else "no record"
            raise NoParkedRecord(f"{tp.topic}/{tp.partition} has no record at offset {offset}: it holds {held}")
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return await _fetch(consumer, tp, offset, wait_s)
    finally:
        await consumer.stop()


async def _fetch(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, wait_s: float) -> ConsumerRecord:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while (left := deadline - loop.time()) > 0:
        batch: dict[Any, list[ConsumerRecord]] = await consumer.getmany(tp, timeout_ms=max(1, int(left * 1000)),
                                                                       max_records=1)
        records = batch.get(tp, [])
        if records and records[0].offset == offset:
            return records[0]
        if records or await consumer.position(tp) > offset:  # a transaction marker, an aborted or deleted record
            raise NoParkedRecord(f"{tp.topic}/{tp.partition} has no record at offset {offset}")
    raise TimeoutError(f"the broker did not give {tp.topic}/{tp.partition}/{offset} within {wait_s} s")


async def _partitions(settings: ServiceSettings, names: list[str]) -> list[TopicPartition]:
    """The partitions of those of the topics that exist (only those are described: a broker that creates topics on
    demand would create one named in a metadata request)."""
    admin = make_admin(settings.kafka, client_id=f"{settings.service_name}-redrive")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in names if n in existing]
        found = [t for t in await admin.describe_topics(wanted) if not t.get("error_code")] if wanted else []
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in found for p in t["partitions"]]
