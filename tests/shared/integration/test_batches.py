"""Events of a partition that arrive together, handled in one transaction on the real broker and database: each by
its own handler, in order, claimed once; and when one fails, none of the batch is kept and each is settled alone."""
from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from contracts import ApplicationWithdrawn, to_record, topics
from intake.adapters.orm import messaging
from servicekit.consumer import EventConsumer
from servicekit.runtime import build_runtime, prepare_topics
from servicekit.settings import WorkerSettings
from servicekit.tracing import current_trace_context
from servicekit.uow import SqlUnitOfWork
from servicekit.worker import batch_handler, event_handlers
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

FAILS = "fails in the handler"


async def record_effect(event: ApplicationWithdrawn, uow: SqlUnitOfWork) -> None:
    """A non-idempotent effect that notes its transaction and the trace it was handled in."""
    if event.reason == FAILS:
        raise RuntimeError("this one cannot be handled")
    await uow.session.execute(text(
        "INSERT INTO intake.effect (application_id, reason, tx, traceparent) "
        "VALUES (:id, :reason, txid_current(), :traceparent)"),
        {"id": event.application_id, "reason": event.reason,
         "traceparent": current_trace_context().get("traceparent")})


async def consume(stack: Stack, events: list[ApplicationWithdrawn], *, expected: int) -> EventConsumer:
    """Produce `events` to one partition (one key), then run a batching consumer until `expected` are processed."""
    await stack.fetch("CREATE TABLE intake.effect (n serial, application_id uuid NOT NULL, reason text, tx bigint, "
                      "traceparent text)")
    settings = stack.settings("intake", worker=WorkerSettings(max_attempts=1))
    await prepare_topics(settings)
    for event in events:
        record = to_record(event, source="/test")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                          key=b"one-partition", headers=record.headers)
    runtime = build_runtime(settings, messaging, SqlUnitOfWork, {ApplicationWithdrawn: record_effect})
    translations = {ApplicationWithdrawn: lambda e: e}
    consumer = EventConsumer(settings.kafka, group_id="intake", handlers=event_handlers(runtime.bus, translations),
                             worker=settings.worker, batch=batch_handler(runtime.bus, translations))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: asyncio.sleep(0, consumer.processed + consumer.dead_lettered >= expected),
                         what=f"{expected} events settled")
    finally:
        stop.set()
        await task
        await runtime.aclose()
    return consumer


async def test_events_that_arrive_together_commit_in_one_transaction_in_order_each_once(stack: Stack) -> None:
    events = [ApplicationWithdrawn(application_id=uuid.uuid4(), reason=f"batch {n}") for n in range(6)]
    await consume(stack, [*events, events[2]], expected=7)  # the third delivered twice, as after a retry
    rows = await stack.fetch("SELECT application_id, reason, tx, traceparent FROM intake.effect ORDER BY n")
    assert [r["application_id"] for r in rows] == [e.application_id for e in events]
    assert len({r["tx"] for r in rows}) == 1  # one transaction
    assert await stack.count("intake.inbox") == len(events)
    # each handled in the trace its event was created in, as when handled alone
    assert len({r["traceparent"].split("-")[1] for r in rows}) == len(events)


async def test_a_failing_event_undoes_its_batch_and_each_is_then_settled_alone(stack: Stack) -> None:
    events = [ApplicationWithdrawn(application_id=uuid.uuid4(), reason=f"batch {n}") for n in range(4)]
    events.insert(2, ApplicationWithdrawn(application_id=uuid.uuid4(), reason=FAILS))
    consumer = await consume(stack, events, expected=5)
    rows = await stack.fetch("SELECT application_id, tx FROM intake.effect ORDER BY n")
    kept = [e.application_id for e in events if e.reason != FAILS]
    assert [r["application_id"] for r in rows] == kept  # once each: the batch's first try left nothing
    assert len({r["tx"] for r in rows}) == len(kept)  # each in its own transaction
    assert consumer.dead_lettered == 1
    assert await stack.count("intake.inbox") == len(kept)
    parked = await read_topic(stack.infra.kafka_bootstrap, topics.dead_letter(stack.topic(topics.APPLICATIONS)))
    assert dict(parked[0].headers)["ce_id"] == str(events[2].id).encode()
