"""Re-drive: an operator sends a service's parked records back to their topics once the cause is mended.

`python -m <svc> redrive` reads every dead-letter topic up to its end as it was when the command started, takes the
records this service parked (`dlq_consumer`), and publishes each to the topic it came from with its original key and
headers. Every consumer of that topic sees it again; their inboxes skip the ones they had already processed, so a
re-drive changes nothing but what was parked.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from servicekit.kafka import make_admin, make_producer
from servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)
DLQ_HEADER_PREFIX = "dlq_"


@dataclass
class Redriven:
    sent: int = 0
    skipped: int = 0  # parked by another service's consumer


async def redrive(settings: ServiceSettings, *, limit: int = 10_000, dry_run: bool = False) -> Redriven:
    kafka = settings.kafka
    group = f"{settings.service_name}-redrive"
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=group, client_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                isolation_level="read_committed")
    producer = make_producer(kafka, client_id=group)
    await consumer.start()
    await producer.start()
    done = Redriven()
    try:
        partitions = await _dead_letter_partitions(settings)
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
                    headers = dict(record.headers or ())
                    if headers.get("dlq_consumer", b"").decode() != settings.service_name:
                        done.skipped += 1
                        continue
                    source = headers.get("dlq_source", b"").decode().rsplit("/", 2)[0]
                    original = [(k, v) for k, v in record.headers if not k.startswith(DLQ_HEADER_PREFIX)]
                    if not dry_run:
                        await producer.send_and_wait(source, record.value, key=record.key, headers=original)
                    done.sent += 1
                    log.info("re-drove %s/%s/%s to %s", tp.topic, tp.partition, record.offset, source)
            if not dry_run:
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return done


async def _dead_letter_partitions(settings: ServiceSettings) -> list[TopicPartition]:
    wanted = [topics.dead_letter(settings.kafka.topic(t)) for t in topics.ALL]
    admin = make_admin(settings.kafka, client_id=f"{settings.service_name}-redrive")
    await admin.start()
    try:
        found = [t for t in await admin.describe_topics(wanted) if not t.get("error_code")]
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in found for p in t["partitions"]]
