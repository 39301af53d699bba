"""The event consumer: decode, dispatch, commit the offset after the database commit.

Poison records (unparseable, invalid, of an unknown type of ours) go to `<topic>.dlq` with the reason in a header,
and the consumer goes on. A broker or database outage is retried with backoff, never dead-lettered; any other
exception is a bug and stops the worker.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts import Event, PoisonMessage, from_record, topics
from servicekit.kafka import make_consumer, make_producer
from servicekit.retry import Backoff, is_transient, sleep_or_stop
from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)
EventHandler = Callable[[Event], Awaitable[Any]]


class EventConsumer:
    def __init__(self, kafka: KafkaSettings, *, group_id: str, handlers: Mapping[type[Event], EventHandler],
                 max_backoff_s: float = 5.0) -> None:
        self._kafka = kafka
        self._group_id = group_id
        self._handlers = dict(handlers)
        self._max_backoff_s = max_backoff_s
        self.topics = sorted({kafka.topic(cls.topic) for cls in handlers})
        self.processed = 0
        self.dead_lettered = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(max_s=self._max_backoff_s)
        try:
            while not stop.is_set():
                try:
                    consumer = await self._ensure_consumer()
                    batch = await consumer.getmany(timeout_ms=200, max_records=200)
                    for tp, records in batch.items():
                        await self._process_partition(consumer, tp, records, stop)
                    backoff.reset()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.warning("consumer %s: %s; retrying", self._group_id, exc)
                    await sleep_or_stop(stop, backoff.next_delay())
        finally:
            await self._close()

    async def _process_partition(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                                 records: list[ConsumerRecord], stop: asyncio.Event) -> None:
        done = None
        try:
            for record in records:
                if stop.is_set():
                    break
                await self._process_with_retry(record, stop)
                done = record.offset + 1
        finally:
            if done is not None:
                await consumer.commit({tp: done})

    async def _process_with_retry(self, record: ConsumerRecord, stop: asyncio.Event) -> None:
        backoff = Backoff(max_s=self._max_backoff_s)
        while True:
            try:
                await self._process(record)
                return
            except Exception as exc:
                if not is_transient(exc) or stop.is_set():
                    raise
                log.warning("consumer %s at %s:%s: %s; retrying", self._group_id, record.topic,
                            record.offset, exc)
                await sleep_or_stop(stop, backoff.next_delay())

    async def _process(self, record: ConsumerRecord) -> None:
        try:
            event = from_record(record.headers, record.value)
        except PoisonMessage as exc:
            await self._dead_letter(record, str(exc))
            return
        handler = self._handlers.get(type(event)) if event is not None else None
        if handler is not None:
            await handler(event)
            self.processed += 1

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.error("dead-lettering %s:%s@%s: %s", record.topic, record.partition, record.offset, reason)
        if self._dlq is None:
            producer = make_producer(self._kafka, client_id=f"{self._group_id}-dlq")
            await producer.start()
            self._dlq = producer
        headers = [*(record.headers or ()),
                   ("dlq_error", reason[:4000].encode()),
                   ("dlq_consumer", self._group_id.encode()),
                   ("dlq_source", f"{record.topic}/{record.partition}/{record.offset}".encode())]
        await self._dlq.send_and_wait(topics.dead_letter(record.topic), record.value, key=record.key,
                                      headers=headers)
        self.dead_lettered += 1

    async def _ensure_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = make_consumer(self._kafka, *self.topics, group_id=self._group_id)
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def _close(self) -> None:
        for client in (self._consumer, self._dlq):
            if client is not None:
                try:
                    await client.stop()
                except Exception as exc:
                    log.debug("closing kafka client: %s", exc)
        self._consumer = self._dlq = None
