"""Time from capacity freed to offer made, through the real allocation and evaluation workers on the real broker and
database, next to a bare aiokafka round trip over the same number of broker hops.

The path measured: a withdrawal or a declined offer reaches allocation (hop 1), which holds the GPUs for the next in
line and asks for a re-check; evaluation re-checks and answers (hops 2 and 3); allocation makes the offer. The
baseline relays one message over three topics with bare consumers and producers, no database and no outbox.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from allocation.config import Settings as AllocationSettings
from allocation.entrypoints.worker import create_worker as allocation_worker
from bench.common import KAFKA, Result, clock, scratch_database, scratch_topics
from contracts import Applicant, ApplicationSubmitted, ApplicationWithdrawn, Event, OfferDeclined, to_record
from evaluation.config import Settings as EvaluationSettings
from evaluation.entrypoints.worker import create_worker as evaluation_worker
from servicekit.kafka import ensure_topics
from servicekit.migrations import upgrade
from servicekit.runtime import prepare_topics
from servicekit.settings import DbSettings, KafkaSettings

WAITING = 12
ROUND_TRIPS = 30
HOPS = 3
SERVICES = Path(__file__).resolve().parents[1] / "services"


def submitted(gpus: int) -> ApplicationSubmitted:
    start = datetime.now(UTC).date() + timedelta(days=10)
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P3",
        applicant=Applicant(name="Bench Lab", sector="academia", institution="SNU", region="Seoul"),
        gpus_requested=gpus, gpu_model="H100", period_start=start, period_end=start + timedelta(days=89),
        planned_gpu_hours_per_month=3000, purpose="benchmark", earliest_start=start, acceptable_window_months=2)


async def until(probe: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    deadline = clock() + timeout
    while clock() < deadline:
        if found := await probe():
            return found
        await asyncio.sleep(0.02)
    raise TimeoutError("the pipeline did not get there in time")


async def reoffer_latencies(url: str, prefix: str) -> list[float]:
    """One holder and WAITING applications for one 8-GPU server: the holder withdraws, then each offer is declined,
    and every step frees the server for the next in line. Returns each offer's milliseconds from freed to made."""
    kafka = KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=prefix)
    allocation = AllocationSettings(db=DbSettings(url=url), kafka=kafka)
    evaluation = EvaluationSettings(db=DbSettings(url=url), kafka=kafka)
    await prepare_topics(allocation)
    db = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    workers = [allocation_worker(allocation), evaluation_worker(evaluation)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True)
    await producer.start()

    async def send(event: Event) -> None:
        record = to_record(event, source="/bench")
        await producer.send_and_wait(f"{prefix}{event.topic}", record.value, key=record.key, headers=record.headers)

    try:
        return await _down_the_line(db, send)
    except TimeoutError:
        print("offers:", [tuple(r) for r in await db.fetch("SELECT state, application_id FROM allocation.offer")])
        print("workers:", [t.exception() for t in tasks if t.done()])
        raise
    finally:
        await producer.stop()
        for worker in workers:
            worker.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.close()


async def _down_the_line(db: asyncpg.Connection, send: Callable[[Event], Awaitable[None]]) -> list[float]:
    await _inventory(db)
    holder, line = submitted(8), [submitted(8) for _ in range(WAITING)]
    await send(holder)
    await until(lambda: db.fetchval("SELECT count(*) = 1 FROM allocation.allocation WHERE status = 'active'"))
    for event in line:
        await send(event)
    await until(lambda: db.fetchval("SELECT count(*) = $1 FROM allocation.waitlist", WAITING))
    await send(ApplicationWithdrawn(application_id=holder.application_id, reason="bench"))
    for n in range(1, WAITING):
        offer = await until(lambda n=n: db.fetchrow(
            "SELECT id, application_id FROM allocation.offer WHERE state = 'open' AND"
            " (SELECT count(*) FROM allocation.offer) = $1", n))
        await send(OfferDeclined(application_id=offer["application_id"], offer_id=offer["id"]))
    await until(lambda: db.fetchval("SELECT count(*) = $1 FROM allocation.offer WHERE made_at IS NOT NULL",
                                    WAITING))
    rows = await db.fetch("SELECT extract(epoch FROM made_at - freed_at) AS s FROM allocation.offer")
    return [float(r["s"]) * 1000 for r in rows]


async def _inventory(db: asyncpg.Connection) -> None:
    csp, server = uuid.uuid4(), uuid.uuid4()
    await db.execute("INSERT INTO allocation.csp (id, name) VALUES ($1, 'bench-cloud')", csp)
    await db.execute("INSERT INTO allocation.server (id, csp_id, name, region, gpu_model, gpus, pool)"
                     " VALUES ($1, $2, 'bench-01', 'Daejeon', 'H100', 8, 'P3')", server, csp)
    await db.execute("INSERT INTO allocation.server_window (id, server_id, pool, during)"
                     " VALUES ($1, $2, 'P3', tstzrange(NULL, NULL))", uuid.uuid4(), server)


async def bare_round_trips(prefix: str) -> list[float]:
    """A message relayed over HOPS topics by bare consumers and producers: milliseconds per trip."""
    topics = [f"{prefix}hop{i}" for i in range(HOPS)]
    await ensure_topics(KafkaSettings(bootstrap_servers=KAFKA), topics, client_id="bench")
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True)
    consumers = [AIOKafkaConsumer(t, bootstrap_servers=KAFKA, group_id=f"{t}-relay", auto_offset_reset="earliest")
                 for t in topics]
    await producer.start()
    for consumer in consumers:
        await consumer.start()
    try:
        samples = []
        for n in range(ROUND_TRIPS + 3):  # the first trips warm the connections up
            start = clock()
            await producer.send_and_wait(topics[0], str(n).encode())
            for i, consumer in enumerate(consumers):
                await consumer.getone()
                if i + 1 < HOPS:
                    await producer.send_and_wait(topics[i + 1], str(n).encode())
            samples.append((clock() - start) * 1000)
        return samples[3:]
    finally:
        await producer.stop()
        for consumer in consumers:
            await consumer.stop()


async def run() -> list[Result]:
    async with scratch_topics() as prefix:
        baseline = await bare_round_trips(prefix)
        async with scratch_database() as url:
            for service in ("allocation", "evaluation"):
                await asyncio.to_thread(upgrade, SERVICES / service / "migrations", url)
            measured = await reoffer_latencies(url, prefix)
    return [Result(f"bare aiokafka relay over {HOPS} topics", "ms", baseline),
            Result("capacity freed -> offer made (allocation, evaluation)", "ms", measured)]
