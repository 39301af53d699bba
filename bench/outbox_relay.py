"""Outbox relay publishing throughput against a bare idempotent aiokafka producer sending the same records."""
from __future__ import annotations

import asyncio
import gc
import os
import uuid

from sqlalchemy import insert

from bench.common import KAFKA, Result, clock, scratch_database, scratch_topics
from contracts import ApplicationWithdrawn, to_record
from intake.adapters.orm import messaging
from servicekit.db import make_engine
from servicekit.kafka import ensure_topics, make_producer
from servicekit.migrations import upgrade
from servicekit.outbox import outbox_row
from servicekit.relay import OutboxRelay
from servicekit.settings import DbSettings, KafkaSettings, OutboxSettings

# a backlog large enough that the relay's fixed cost (its first claim, which nothing overlaps: ~10 ms) is not what is
# measured: at 5,000 it was a sixth of the relay's time
EVENTS = int(os.environ.get("BENCH_RELAY_EVENTS", 20_000))
RUNS = 9
MIGRATIONS = __import__("pathlib").Path(__file__).resolve().parents[1] / "services" / "intake" / "migrations"


def events(n: int) -> list[ApplicationWithdrawn]:
    return [ApplicationWithdrawn(application_id=uuid.uuid4(), reason="bench") for _ in range(n)]


async def bare_producer(topic: str) -> float:
    """The relay's own producer (the services' settings: idempotent, acks=all, KAFKA__LINGER_MS), records encoded."""
    producer = make_producer(KafkaSettings(bootstrap_servers=KAFKA), client_id="bench-bare")
    await producer.start()
    records = [to_record(e, source="/bench") for e in events(EVENTS)]
    try:
        gc.collect()  # the garbage of building the records is not the producer's: collected before the clock starts
        start = clock()
        futures = [await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records]
        await asyncio.gather(*futures)
        return EVENTS / (clock() - start)
    finally:
        await producer.stop()


async def relay_drain(url: str, topic_prefix: str) -> float:
    engine = make_engine(DbSettings(url=url))
    rows = [outbox_row(e, topic_prefix) for e in events(EVENTS)]
    async with engine.begin() as conn:
        await conn.execute(insert(messaging.outbox), rows)
    relay = OutboxRelay(engine, messaging, KafkaSettings(bootstrap_servers=KAFKA), OutboxSettings(),
                        source="/bench", client_id="bench-relay")
    try:
        await relay._ensure_producer()  # started before the clock, as the bare producer is
        gc.collect()
        start = clock()
        while relay.published < EVENTS:
            await relay.publish_batch()
        return EVENTS / (clock() - start)
    finally:
        await relay._drop_producer()
        await engine.dispose()


async def run() -> list[Result]:
    async with scratch_database() as url, scratch_topics() as prefix:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        names = [f"{prefix}{t}" for t in ("warmup", "baseline", ApplicationWithdrawn.topic)]
        await ensure_topics(KafkaSettings(bootstrap_servers=KAFKA), names, client_id="bench")
        await bare_producer(f"{prefix}warmup")
        baseline, relay = [], []
        for _ in range(RUNS):  # interleaved, so that a busy spell of the machine falls on both alike
            baseline.append(await bare_producer(f"{prefix}baseline"))
            relay.append(await relay_drain(url, prefix))
    return [Result("bare aiokafka idempotent producer", "events/s", baseline),
            Result("outbox relay (read rows, publish, mark sent)", "events/s", relay)]
