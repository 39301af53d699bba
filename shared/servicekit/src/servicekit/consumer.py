"""The event consumer: decode, dispatch, commit the offset after the database commit; no record can stop it.

A record that cannot be decoded (unparseable, invalid, of an unknown type of ours) is parked at once on
`<topic>.dlq`. A handler that raises is run again with backoff, `max_attempts` times in all (a conflict the database
reports, `max_transient_attempts`), then its record is parked with the error and the partition moves on. A lost
connection to the broker or the database is waited out without limit: an outage is never poison.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from contracts import Event, PoisonMessage, event_class, from_record, topics
from contracts.cloudevents import trace_context
from servicekit.kafka import make_consumer, make_producer
from servicekit.liveness import PartStatus, current_part
from servicekit.logs import log_context
from servicekit.retry import Backoff, is_outage, is_transient, sleep_or_stop
from servicekit.settings import KafkaSettings, WorkerSettings
from servicekit.tracing import consuming, record_fields

log = logging.getLogger(__name__)
EventHandler = Callable[[Event], Awaitable[Any]]
# the events of one poll, each partition in order, with their records, handled in one transaction (build_worker)
BatchHandler = Callable[[list[tuple[Event, ConsumerRecord]]], Awaitable[Any]]
LAG_EVERY_S = 1.0


class Parked(Exception):
    """Why a record was parked: the error, the handler that raised it and how often it was tried."""

    def __init__(self, error: str, *, error_type: str, handler: str, attempts: int) -> None:
        super().__init__(error)
        self.error_type, self.handler, self.attempts = error_type, handler, attempts


class _Joined(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    """Marks the consumer ready once the group gave it its partitions (possibly none: a standby replica); before
    they are taken away, commits what was settled of them."""

    def __init__(self, part: PartStatus, flush: Callable[[], Awaitable[None]]) -> None:
        self._part = part
        self._flush = flush

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self._part.ready = False
        try:
            await self._flush()
        except Exception as exc:  # its records are delivered again to the next owner, whose inbox passes them over
            log.warning("committing before a rebalance: %s: %s", type(exc).__name__, exc)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._part.ready = True


class EventConsumer:
    def __init__(self, kafka: KafkaSettings, *, group_id: str, handlers: Mapping[type[Event], EventHandler],
                 max_backoff_s: float = 5.0, worker: WorkerSettings | None = None,
                 batch: BatchHandler | None = None) -> None:
        self._kafka = kafka
        self._batch = batch
        self._group_id = group_id
        self._handlers = dict(handlers)
        self._max_backoff_s = max_backoff_s
        self._worker = worker or WorkerSettings()
        self.topics = sorted({kafka.topic(cls.topic) for cls in handlers})
        self.processed = 0
        self.dead_lettered = 0
        self.lag: dict[str, int] = {}
        # per topic and partition, for the worker's /metrics (servicekit.metrics)
        self.handled_by_topic: dict[str, int] = {}
        self.failed_by_topic: dict[str, int] = {}
        self.dead_lettered_by_topic: dict[str, int] = {}
        self.lag_by_partition: dict[tuple[str, int], int] = {}
        self._lag_at = 0.0
        # offsets settled (their records handled and committed to the database) but not yet committed to Kafka
        self._settled: dict[TopicPartition, int] = {}
        self._committed_at = 0.0
        self._commit_now = False  # a record was parked: its dead letter is not sent twice after a restart
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        part = current_part()
        part.ready = False
        backoff = Backoff(max_s=self._max_backoff_s)
        try:
            while not stop.is_set():
                try:
                    consumer = await self._ensure_consumer(part)
                    batch = await consumer.getmany(timeout_ms=200, max_records=200)
                    await self._process_poll(consumer, batch, stop)  # an empty poll too: a commit may be due
                    await self._measure_lag(consumer)
                    part.turned()
                    backoff.reset()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    part.failed(exc)
                    log.warning("consumer %s: %s; retrying", self._group_id, exc)
                    await sleep_or_stop(stop, backoff.next_delay())
        finally:
            await self._close()

    async def _process_poll(self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[ConsumerRecord]],
                            stop: asyncio.Event) -> None:
        """Every record of one poll; their offsets are committed after the database commits, at once or with the
        next commit that is due (`_commit`). Where the service handles batches, the whole poll is one transaction:
        under load, what arrived while the last poll was handled (often several partitions and topics) is handled
        together, and a quiet topic's single record still goes at once. Otherwise, or when that batch fails, record
        by record. Either way in the order the records were written (`as_written`). What was settled before a stop or
        an outage is committed at once."""
        done: dict[TopicPartition, int] = {}
        at_once = True  # unless the poll ends as it should
        try:
            records = as_written(batch)
            if len(records) > 1 and await self._settle_batch(records):
                done.update({tp: partition[-1].offset + 1 for tp, partition in batch.items() if partition})
            else:
                for record in records:
                    if not await self._settle_in_context(record, stop):
                        break  # stopping: this record is delivered again to whoever has the partition next
                    done[TopicPartition(record.topic, record.partition)] = record.offset + 1
            at_once = stop.is_set()
        finally:
            self._settled.update(done)
            await self._commit(consumer, now=at_once)

    async def _commit(self, consumer: AIOKafkaConsumer, *, now: bool = False) -> None:
        """Commit the offsets settled so far when asked to (`now`), after a record was parked, or once
        `commit_interval_s` has passed since the last commit: a record delivered again after a crash is passed over
        by the inbox, so fewer commits cost a restart a little re-reading, never an effect twice. Only partitions
        still assigned: a record another consumer now owns is delivered to it again, and its inbox passes it over."""
        due = now or self._commit_now or time.monotonic() - self._committed_at >= self._worker.commit_interval_s
        if not self._settled or not due:
            return
        owned = consumer.assignment()
        offsets = {tp: offset for tp, offset in self._settled.items() if tp in owned}
        self._settled = {}
        if offsets:
            try:
                await consumer.commit(offsets)
            except BaseException:
                self._settled = {**offsets, **self._settled}
                raise
        self._committed_at = time.monotonic()
        self._commit_now = False

    async def _settle_batch(self, records: list[ConsumerRecord]) -> bool:
        """Where the service handles batches: every record given (a poll's, as written) in one transaction.
        Whatever goes wrong (a record that does not decode, a handler that raises, an outage), nothing of it is kept
        and the records are settled one by one instead, with their retries and dead letters; False then."""
        if self._batch is None:
            return False
        try:
            events = [(from_record(r.headers, r.value), r) for r in records if self._wanted(r)]
            handled = [(e, r) for e, r in events if e is not None and type(e) in self._handlers]
            if handled:
                await self._batch(handled)
        except Exception as exc:
            log.info("consumer %s: a batch of %d from %s/%s/%s on is settled record by record: %s: %s",
                     self._group_id, len(records), records[0].topic, records[0].partition, records[0].offset,
                     type(exc).__name__, exc)
            return False
        self.processed += len(handled)
        for _, record in handled:
            _count(self.handled_by_topic, record.topic)
        log.debug("handled a batch of %d events", len(handled))
        return True

    async def _settle_in_context(self, record: ConsumerRecord, stop: asyncio.Event) -> bool:
        """`_settle`, with the record's event id, type, subject and trace id on every line it logs."""
        with log_context(**record_fields(record.headers)):
            return await self._settle(record, stop)

    async def _settle(self, record: ConsumerRecord, stop: asyncio.Event) -> bool:
        """Process the record, or park it once its attempts are spent; False when asked to stop first."""
        backoff = Backoff(max_s=self._max_backoff_s)
        failures = 0
        parked: Parked | None = None
        while not stop.is_set():
            try:
                if parked is None:
                    await self._process(record)
                else:
                    await self._dead_letter(record, parked)
                    self._commit_now = True
                return True
            except Parked as exc:
                parked = exc
                continue
            except Exception as exc:
                if not is_outage(exc):
                    failures += 1
                    _count(self.failed_by_topic, record.topic)
                    limit = self._worker.max_transient_attempts if is_transient(exc) else self._worker.max_attempts
                    if parked is None and failures >= limit:
                        parked = self._parked(record, exc, failures)
                        continue
                current_part().failed(exc)
                log.warning("consumer %s at %s/%s/%s (%d failed so far, outages aside): %s: %s; retrying",
                            self._group_id, record.topic, record.partition, record.offset, failures,
                            type(exc).__name__, exc)
                await sleep_or_stop(stop, backoff.next_delay())
        return False

    def _parked(self, record: ConsumerRecord, exc: Exception, attempts: int) -> Parked:
        log.error("consumer %s parks %s/%s/%s after %d attempts", self._group_id, record.topic, record.partition,
                  record.offset, attempts, exc_info=exc)
        handler = _handler_name(record, self._handlers)
        return Parked(str(exc) or type(exc).__name__, error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                      handler=handler, attempts=attempts)

    def _wanted(self, record: ConsumerRecord) -> bool:
        """False for a record of one of our event types this consumer has no handler for: passed over unread (the
        topic's consumers that handle it judge it). Anything else is decoded, and parked if it does not decode."""
        for name, raw in record.headers or ():
            if name == "ce_type" and isinstance(raw, bytes | bytearray):
                known = event_class(bytes(raw).decode(errors="replace"))
                return known is None or known in self._handlers
        return True

    async def _process(self, record: ConsumerRecord) -> None:
        if not self._wanted(record):
            return
        try:
            event = from_record(record.headers, record.value)
        except PoisonMessage as exc:
            raise Parked(str(exc), error_type="PoisonMessage", handler="decode", attempts=1) from exc
        handler = self._handlers.get(type(event)) if event is not None else None
        if event is not None and handler is not None:
            with handling(event, record):
                await handler(event)
            self.processed += 1
            _count(self.handled_by_topic, record.topic)

    async def _dead_letter(self, record: ConsumerRecord, why: Parked) -> None:
        log.error("dead-lettering %s:%s@%s: %s", record.topic, record.partition, record.offset, why)
        if self._dlq is None:
            producer = make_producer(self._kafka, client_id=f"{self._group_id}-dlq")
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._dlq = producer
        headers = [*(record.headers or ()),
                   ("dlq_error", str(why)[:4000].encode()),
                   ("dlq_error_type", why.error_type.encode()),
                   ("dlq_handler", why.handler.encode()),
                   ("dlq_attempts", str(why.attempts).encode()),
                   ("dlq_consumer", self._group_id.encode()),
                   ("dlq_source", f"{record.topic}/{record.partition}/{record.offset}".encode())]
        await self._dlq.send_and_wait(topics.dead_letter(record.topic), record.value, key=record.key,
                                      headers=headers)
        self.dead_lettered += 1
        _count(self.dead_lettered_by_topic, record.topic)

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Records waiting per topic (the high watermark less our position), at most once a second."""
        if time.monotonic() - self._lag_at < LAG_EVERY_S:
            return
        self._lag_at = time.monotonic()
        lag: dict[str, int] = {}
        by_partition: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None:
                waiting = by_partition[(tp.topic, tp.partition)] = max(0, high - await consumer.position(tp))
                lag[tp.topic] = lag.get(tp.topic, 0) + waiting
        self.lag = lag
        self.lag_by_partition = by_partition

    async def _ensure_consumer(self, part: PartStatus) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = make_consumer(self._kafka, group_id=self._group_id)
            try:
                await consumer.start()
                consumer.subscribe(self.topics, listener=_Joined(part, lambda: self._commit(consumer, now=True)))
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        return self._consumer

    async def _close(self) -> None:
        if self._consumer is not None:
            try:
                await self._commit(self._consumer, now=True)
            except Exception as exc:  # delivered again after the restart, and passed over by the inbox
                log.warning("committing on the way out: %s: %s", type(exc).__name__, exc)
        for client in (self._consumer, self._dlq):
            if client is not None:
                try:
                    await client.stop()
                except Exception as exc:
                    log.debug("closing kafka client: %s", exc)
        self._consumer = self._dlq = None


@contextmanager
def handling(event: Event, record: ConsumerRecord) -> Iterator[None]:
    """One event's handling: within a span that continues the trace the event was created in (the rows its handler
    writes do too), with the record's fields on every line logged, and a line once handled."""
    with log_context(**record_fields(record.headers)), consuming(
            trace_context(record.headers), event_type=event.type, event_id=str(event.id), subject=event.subject,
            topic=record.topic):
        yield
        log.info("handled %s", event.type)


def as_written(batch: Mapping[TopicPartition, list[ConsumerRecord]]) -> list[ConsumerRecord]:
    """The records of a poll in the order they were written (their timestamps), each partition's in its own order
    whatever their timestamps say: events of one subject on different topics (an allocation and, later, telemetry's
    warning about it) are handled in the order they happened, as they would be one poll at a time."""
    if len(batch) == 1:
        return next(iter(batch.values()))
    return list(heapq.merge(*batch.values(), key=_written_at))


def _written_at(record: ConsumerRecord) -> int:
    return int(record.timestamp)


def _count(counts: dict[str, int], topic: str) -> None:
    counts[topic] = counts.get(topic, 0) + 1


def _handler_name(record: ConsumerRecord, handlers: Mapping[type[Event], EventHandler]) -> str:
    ce_type = dict(record.headers or ()).get("ce_type", b"").decode(errors="replace")
    for event_type, handler in handlers.items():
        if str(event_type.model_fields["type"].default) == ce_type:
            return str(getattr(handler, "__qualname__", None) or ce_type)
    return ce_type or "unknown"
