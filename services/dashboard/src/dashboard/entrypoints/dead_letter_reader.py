"""The dead-letter reader: a part of the dashboard's worker that reads every dead-letter topic of the platform
(`<prefix><topic>.dlq`) raw, in a consumer group of its own, into the `dead_letter` table.

Raw, not through the event translation: a parked record may be anything (that is why it was parked), so it is only
read (domain.dead_letters), never decoded as an event. Each partition's batch is kept in one transaction, and its
offsets are committed after that commit; a record read twice (a restart, a rebalance, a rewind) is kept once. A
record whose reading cannot be stored is kept bare (its place, time and origin) and the reader goes on; while the
database or the broker is away, it waits without skipping anything, and the worker's health says so.

The dead-letter topics may not exist yet: the reader creates them when it starts (as every worker does), and it
subscribes by pattern, so a topic created later (by another deployment's worker) is read once the broker's metadata
names it.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from contracts import topics
from dashboard.domain.commands import RecordDeadLetters
from dashboard.domain.dead_letters import DeadLetter, read_dead_letter
from servicekit.kafka import ensure_topics, make_consumer
from servicekit.liveness import current_part
from servicekit.retry import Backoff, is_transient, sleep_or_stop
from servicekit.runtime import Runtime
from servicekit.settings import KafkaSettings
from servicekit.worker import Job

log = logging.getLogger(__name__)
BATCH = 200
LAG_EVERY_S = 1.0


def dead_letter_topics(kafka: KafkaSettings) -> list[str]:
    """Every topic of the platform's dead-letter topic, with the deployment's prefix."""
    return [topics.dead_letter(kafka.topic(name)) for name in topics.ALL]


def dead_letter_pattern(kafka: KafkaSettings) -> str:
    return "^(?:" + "|".join(re.escape(name) for name in dead_letter_topics(kafka)) + ")$"


class DeadLetterReader:
    def __init__(self, runtime: Runtime[Any]) -> None:
        settings = runtime.settings
        self._kafka = settings.kafka
        self.group_id = f"{settings.service_name}-dead-letters"
        self._bus = runtime.bus
        self._clock = runtime.clock
        self._max_backoff_s = settings.outbox.max_backoff_s
        self._consumer: AIOKafkaConsumer | None = None
        self._topics_ready = False
        self._lag_at = 0.0
        # on the worker's probe and heartbeat (its health's metrics): records read and kept, and waiting per topic
        self.stats: dict[str, Any] = {"read": 0, "kept": 0, "kept_bare": 0, "lag": {}}

    def job(self) -> Job:
        """The reader as a part of the worker, under the name its health reports it by."""

        async def dead_letters(stop: asyncio.Event) -> None:
            await self.run(stop)
        return dead_letters

    async def run(self, stop: asyncio.Event) -> None:
        part = current_part()
        backoff = Backoff(max_s=self._max_backoff_s)
        try:
            while not stop.is_set():
                try:
                    await self._turn(stop)
                    part.turned()
                    backoff.reset()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    part.failed(exc)
                    log.warning("dead-letter reader: %s: %s; retrying", type(exc).__name__, exc)
                    await self._close()  # a new consumer starts from the offsets committed: nothing is skipped
                    await sleep_or_stop(stop, backoff.next_delay())
        finally:
            await self._close()

    async def _turn(self, stop: asyncio.Event) -> None:
        consumer = await self._ensure_consumer()
        batch = await consumer.getmany(timeout_ms=500, max_records=BATCH)
        for tp, records in batch.items():
            if not await self._settle(consumer, tp, records, stop):
                return  # stopping: what was not committed is read again by whoever reads next
        await self._measure_lag(consumer)

    async def _settle(self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord],
                      stop: asyncio.Event) -> bool:
        """Keep the partition's batch, then commit its offsets; False when asked to stop before it was kept."""
        letters = [self._letter(record) for record in records]
        backoff = Backoff(max_s=self._max_backoff_s)
        while not stop.is_set():
            try:
                self.stats["kept"] += await self._keep(letters)
            except Exception as exc:  # the database away, or not as expected: wait, skip nothing
                current_part().failed(exc)
                log.warning("dead-letter reader cannot keep %d records of %s/%s: %s: %s; retrying", len(letters),
                            tp.topic, tp.partition, type(exc).__name__, exc, exc_info=not is_transient(exc))
                await sleep_or_stop(stop, backoff.next_delay())
                continue
            await consumer.commit({tp: records[-1].offset + 1})
            self.stats["read"] += len(records)
            return True
        return False

    def _letter(self, record: ConsumerRecord) -> DeadLetter:
        try:
            return read_dead_letter(record.topic, record.partition, record.offset, key=record.key,
                                    value=record.value, headers=record.headers, timestamp_ms=record.timestamp,
                                    received_at=self._clock())
        except Exception as exc:  # reading is total; should it ever raise, the record is still not lost
            log.exception("dead letter %s/%s/%s not readable", record.topic, record.partition, record.offset)
            return DeadLetter(record.topic, record.partition, record.offset, self._clock()).bare(
                f"not readable: {type(exc).__name__}: {exc}")

    async def _keep(self, letters: list[DeadLetter]) -> int:
        """Keep the records in one transaction; if that fails for a reason of theirs, one by one."""
        try:
            return await self._record(letters)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("dead-letter reader: a batch of %d not kept (%s: %s); keeping them one by one",
                        len(letters), type(exc).__name__, exc)
        kept = 0
        for letter in letters:
            kept += await self._keep_one(letter)
        return kept

    async def _keep_one(self, letter: DeadLetter) -> int:
        try:
            return await self._record([letter])
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("dead letter %s/%s/%s kept bare", letter.topic, letter.partition, letter.offset)
            self.stats["kept_bare"] += 1
            return await self._record([letter.bare(f"not stored as read: {type(exc).__name__}: {exc}")])

    async def _record(self, letters: list[DeadLetter]) -> int:
        kept: int = await self._bus.handle(RecordDeadLetters(tuple(letters)))
        return kept

    async def _ensure_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            await self._ensure_topics()
            consumer = make_consumer(self._kafka, group_id=self.group_id)
            try:
                await consumer.start()
                consumer.subscribe(pattern=dead_letter_pattern(self._kafka))
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def _ensure_topics(self) -> None:
        """Create the dead-letter topics that are missing, once; if that fails (a broker that lets no client
        create topics), the pattern still finds them once something else has."""
        if self._topics_ready:
            return
        try:
            await ensure_topics(self._kafka, dead_letter_topics(self._kafka), client_id=f"{self.group_id}-admin")
            self._topics_ready = True
        except Exception as exc:
            log.warning("dead-letter reader: topics not created (%s: %s); reading those that exist",
                        type(exc).__name__, exc)

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Records waiting per dead-letter topic, at most once a second."""
        if time.monotonic() - self._lag_at < LAG_EVERY_S:
            return
        self._lag_at = time.monotonic()
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None:
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, high - await consumer.position(tp))
        self.stats["lag"] = lag

    async def _close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                await consumer.stop()
            except Exception as exc:
                log.debug("closing the dead-letter consumer: %s", exc)
