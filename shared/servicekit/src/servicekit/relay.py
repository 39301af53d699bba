"""The outbox relay: publishes committed event rows in order, deletes them (or marks them sent), and never drops one.

One relay at a time per service holds the batch (a transaction-scoped advisory lock), so replicas cannot reorder
one key's events. While the broker is down the relay backs off and tries again; rows stay until Kafka has them.
"""
from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from sqlalchemy import (
    BigInteger,
    Delete,
    Integer,
    Row,
    Table,
    Text,
    Update,
    bindparam,
    cast,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.cloudevents import record as event_record
from contracts.cloudevents import trace_header_pair
from servicekit.kafka import make_producer, partition_for
from servicekit.liveness import current_part
from servicekit.logs import log_context
from servicekit.outbox import channel
from servicekit.retry import Backoff, is_transient, sleep_or_stop
from servicekit.settings import KafkaSettings, OutboxSettings
from servicekit.tables import MessagingTables
from servicekit.tracing import record_fields

log = logging.getLogger(__name__)
PURGE_EVERY_S = 300.0
LISTEN_RETRY_S = 30.0


def _claim_statement(table: Table, *, keep: bool) -> Update | Delete:
    """One round trip: take the relay's lock (an uncorrelated subquery, evaluated once before any row is read:
    PostgreSQL's one-time filter; without the lock, no row), find the last of the oldest `batch_size` unpublished
    rows, then mark the unpublished rows up to it sent (`keep`) or delete them, and return them. Deleting costs the
    database ~3.3 µs a row against ~8.5 for marking: the update writes a new row version and its index entries.

    The rows are taken as a range (`seq <=` the last, read once, before any row is touched), not as `seq IN` the
    subquery: both take the same rows (the statement sees one snapshot), but once the table's statistics say it is
    empty (autovacuum found it so between two bursts) the planner joins `IN` as a nested loop that reads the whole
    subquery again for every row: 1 s for 500 rows of a 5,000-row backlog, growing with the backlog's square. Every
    plan of the range reads each row once.

    The rows come back as text (the id, and the data as it was written, kept verbatim by its `json` column): the
    record is built from them without parsing or writing JSON (`contracts.cloudevents.record`)."""
    locked = select(func.pg_try_advisory_xact_lock(bindparam("lock_key", type_=BigInteger))).scalar_subquery()
    unpublished = table.c.published_at.is_(None)
    oldest = (select(table.c.seq).where(locked, unpublished, table.c.seq > bindparam("after", type_=BigInteger))
              .order_by(table.c.seq).limit(bindparam("batch_size", type_=Integer)).subquery())
    taken = (unpublished, table.c.seq <= select(func.max(oldest.c.seq)).scalar_subquery())
    claim = (update(table).where(*taken).values(published_at=func.now()) if keep
             else delete(table).where(*taken))
    return claim.returning(table.c.seq, table.c.topic, table.c.key, cast(table.c.event_id, Text), table.c.type,
                           table.c.occurred_at, cast(table.c.payload, Text), table.c.traceparent, table.c.tracestate)


class OutboxRelay:
    def __init__(self, engine: AsyncEngine, tables: MessagingTables, kafka: KafkaSettings,
                 settings: OutboxSettings, *, source: str, client_id: str) -> None:
        self._engine = engine
        self._table = tables.outbox
        self._kafka = kafka
        self._settings = settings
        self._source = source
        self._client_id = client_id
        self._lock_key = zlib.crc32(f"outbox:{tables.outbox.fullname}".encode())
        self._claim = _claim_statement(tables.outbox, keep=settings.retention_days > 0)
        self._producer: AIOKafkaProducer | None = None
        self._channel = channel(tables.outbox)
        self._listener: asyncpg.Connection | None = None
        self._listen_again_at = 0.0
        self._woken = asyncio.Event()
        self.published = 0

    @property
    def listening(self) -> bool:
        """Whether commits wake the relay (else it finds new rows at its next poll)."""
        return self._listener is not None and not self._listener.is_closed()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(max_s=self._settings.max_backoff_s)
        last_purge = 0.0
        part = current_part()
        try:
            while not stop.is_set():
                try:
                    self._woken.clear()  # a commit from now on wakes the next wait
                    sent = await self.publish_batch()
                    backoff.reset()
                    if asyncio.get_running_loop().time() - last_purge > PURGE_EVERY_S:  # sent rows kept
                        await self.purge_published()
                        last_purge = asyncio.get_running_loop().time()
                    part.turned(next_within_s=self._settings.poll_interval_s)
                except Exception as exc:
                    # rows are sent in order, so a row that keeps failing holds back the ones behind it: it is
                    # retried, never skipped, and the worker's readiness says so until it goes through
                    part.failed(exc)
                    if is_transient(exc):
                        log.warning("outbox relay: %s; retrying", exc)
                    else:
                        log.exception("outbox relay failed; retrying")
                    await self._drop_producer()
                    await sleep_or_stop(stop, backoff.next_delay())
                    continue
                if sent < self._settings.batch_size:
                    await self._wait(stop)
        finally:
            await self._drop_producer()
            await self._stop_listening()

    async def _wait(self, stop: asyncio.Event) -> None:
        """Until a commit notifies new rows, or the poll interval passes (the notification is only a shortcut: a
        relay that cannot listen, or misses one, still finds every row by polling)."""
        await self._listen()
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._woken.wait())]
        try:
            await asyncio.wait(waits, timeout=self._settings.poll_interval_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _listen(self) -> None:
        """Open the listening connection; after a failure, not again for a while (the poll goes on meanwhile)."""
        now = asyncio.get_running_loop().time()
        if self.listening or now < self._listen_again_at:
            return
        try:
            url = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = await asyncpg.connect(url)
            await self._listener.add_listener(self._channel, lambda *_: self._woken.set())
        except (OSError, asyncpg.PostgresError) as exc:
            log.debug("outbox relay: not listening on %s (%s); polling", self._channel, exc)
            self._listen_again_at = now + LISTEN_RETRY_S
            await self._stop_listening()

    async def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await listener.close()

    async def publish_batch(self) -> int:
        """Send the oldest unpublished rows and delete them (or mark them sent), all or nothing: they are claimed in
        the statements that read them, and the claims commit only once Kafka has every one (else they roll back).

        Up to `batches_per_commit` claims of `batch_size` rows go in one transaction, each issued before the rows
        of the one before are encoded and sent, so that the database finds the next rows while this process works
        and Kafka acknowledges: one commit, and no wait for either side in between."""
        size, limit = self._settings.batch_size, self._settings.batch_size * self._settings.batches_per_commit
        sent = 0
        async with self._engine.begin() as conn:
            claiming: asyncio.Future[list[Row[Any]]] = asyncio.ensure_future(self._claim_rows(conn, size, after=0))
            try:
                futures: list[asyncio.Future[Any]] = []
                while rows := await claiming:
                    sent += len(rows)
                    more = len(rows) == size and sent < limit
                    if more:  # read on while these are sent: they come after them, whatever happens
                        claiming = asyncio.ensure_future(self._claim_rows(conn, min(size, limit - sent),
                                                                          after=rows[-1].seq))
                    futures += await self._send(await self._ensure_producer(), rows)
                    if not more:
                        break
                await asyncio.gather(*futures)
            finally:
                # a failure while the next rows are being read: the connection answers that statement before the
                # rollback anyway; its outcome is awaited here so that nothing is left running or unseen
                if not claiming.done():
                    await asyncio.wait([claiming])
                if not claiming.cancelled():
                    claiming.exception()
        self.published += sent
        return sent

    async def _claim_rows(self, conn: AsyncConnection, size: int, *, after: int) -> list[Row[Any]]:
        """The oldest `size` unpublished rows past `after`: a transaction's later claims start past its last one's
        rows, whose index entries (deleted or marked by this same transaction, so not yet dead to anyone else) each
        claim from the start would step over again, a heap visit each."""
        result = await conn.execute(self._claim, {"lock_key": self._lock_key, "batch_size": size, "after": after})
        return sorted(result.all(), key=lambda row: row.seq)  # RETURNING keeps no order

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Sequence[Any]]) -> list[asyncio.Future[Any]]:
        """Queue the rows' records, each partition's in the rows' order, in as few batches as fit: a record batch a
        partition is filled here and handed over whole, which costs a third of handing over the records one by one
        (`send`). The partition is the one `send` picks (`partition_for`: murmur2 of the key, as Java clients do)."""
        futures: list[asyncio.Future[Any]] = []
        partitions: dict[str, list[int]] = {}
        filling: dict[tuple[str, int], BatchBuilder] = {}
        debug = log.isEnabledFor(logging.DEBUG)
        for _seq, topic, key, event_id, type_, occurred_at, data, traceparent, tracestate in rows:  # validated
            # when the handler built the event: sent as written; the trace context it was created in goes with it
            record = event_record(data.encode(), event_id=event_id, type_=type_, time=occurred_at, subject=key,
                                  source=self._source, extra_headers=trace_header_pair(traceparent, tracestate))
            if (known := partitions.get(topic)) is None:
                known = partitions[topic] = sorted(await producer.partitions_for(topic))
            partition = partition_for(record.key, known)
            batch = filling.get((topic, partition))
            if batch is None:
                batch = filling[topic, partition] = producer.create_batch()
            if batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers) is None:
                futures.append(await producer.send_batch(batch, topic, partition=partition))  # full: on its way
                batch = filling[topic, partition] = producer.create_batch()
                batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers)  # the
                # first record of a batch always fits, however large
            if debug:
                with log_context(**record_fields(record.headers)):
                    log.debug("publishing to %s", topic)
        for (topic, partition), batch in filling.items():
            batch.close()
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures

    async def purge_published(self) -> None:
        cutoff = func.now() - timedelta(days=self._settings.retention_days)
        async with self._engine.begin() as conn:
            await conn.execute(self._table.delete().where(self._table.c.published_at < cutoff))

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self._kafka, client_id=self._client_id)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception as exc:  # a dead broker may fail the flush; the rows stay unpublished
                log.debug("producer stop: %s", exc)
