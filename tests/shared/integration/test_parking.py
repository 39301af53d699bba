"""No record can stop a worker: a handler that keeps raising parks its record, and the partition moves on."""
from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from contracts import ApplicationWithdrawn, to_record, topics
from intake.adapters.orm import messaging
from servicekit.consumer import EventConsumer
from servicekit.redrive import redrive
from servicekit.runtime import build_runtime, prepare_topics
from servicekit.settings import WorkerSettings
from servicekit.uow import SqlUnitOfWork
from servicekit.worker import event_handlers
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

CURSED = "a reason the handler cannot stand"


class Flaky:
    """Raises on the cursed record every time, and on the first try of any record that says 'once'."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.mended = False

    async def __call__(self, event: ApplicationWithdrawn, uow: SqlUnitOfWork) -> None:
        seen = self.calls[event.reason] = self.calls.get(event.reason, 0) + 1
        if (event.reason == CURSED and not self.mended) or (event.reason.startswith("once") and seen == 1):
            raise ValueError(f"cannot handle {event.reason!r}")
        await uow.session.execute(text("INSERT INTO intake.effect (reason) VALUES (:reason)"),
                                  {"reason": event.reason})


def on_withdrawn(event: ApplicationWithdrawn) -> ApplicationWithdrawn:
    return event


async def run_consumer(stack: Stack, events: list[ApplicationWithdrawn], handler: Flaky,
                       until: int) -> EventConsumer:
    await stack.fetch("CREATE TABLE IF NOT EXISTS intake.effect (reason text NOT NULL)")
    settings = stack.settings("intake")
    await prepare_topics(settings)
    runtime = build_runtime(settings, messaging, SqlUnitOfWork, {ApplicationWithdrawn: handler})
    consumer = EventConsumer(settings.kafka, group_id="intake", max_backoff_s=0.2,
                             handlers=event_handlers(runtime.bus, {ApplicationWithdrawn: on_withdrawn}),
                             worker=WorkerSettings(max_attempts=3))
    for event in events:  # one key: one partition, in this order
        record = to_record(event, source="/test")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                          key=record.key, headers=record.headers)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: asyncio.sleep(0, consumer.processed + consumer.dead_lettered >= until),
                         what="every record settled")
    finally:
        stop.set()
        await task
        await runtime.aclose()
    return consumer


async def test_a_record_whose_handler_keeps_raising_is_parked_and_the_next_one_is_processed(stack: Stack) -> None:
    application = uuid.uuid4()
    events = [ApplicationWithdrawn(application_id=application, reason=r) for r in (CURSED, "the next one")]
    handler = Flaky()
    consumer = await run_consumer(stack, events, handler, until=2)

    assert handler.calls == {CURSED: 3, "the next one": 1}
    assert [r["reason"] for r in await stack.fetch("SELECT reason FROM intake.effect")] == ["the next one"]
    assert (consumer.processed, consumer.dead_lettered) == (1, 1)
    parked = await read_topic(stack.infra.kafka_bootstrap, topics.dead_letter(stack.topic(topics.APPLICATIONS)))
    assert len(parked) == 1
    headers = {k: v.decode() for k, v in parked[0].headers}
    assert headers["dlq_error"] == f"cannot handle {CURSED!r}"
    assert headers["dlq_error_type"] == "builtins.ValueError"
    assert headers["dlq_handler"] == "on_withdrawn"
    assert headers["dlq_attempts"] == "3"
    assert headers["dlq_consumer"] == "intake"
    assert headers["ce_id"] == str(events[0].id)  # the original record, headers and all, for a re-drive
    assert parked[0].key == str(application).encode()


async def test_a_handler_that_fails_once_is_retried_and_nothing_is_parked(stack: Stack) -> None:
    events = [ApplicationWithdrawn(application_id=uuid.uuid4(), reason="once, then fine")]
    handler = Flaky()
    consumer = await run_consumer(stack, events, handler, until=1)

    assert handler.calls == {"once, then fine": 2}
    assert (consumer.processed, consumer.dead_lettered) == (1, 0)
    assert await stack.count("intake.effect") == 1
    assert await stack.count("intake.inbox") == 1  # the failed try rolled back its claim with its effects


async def test_a_parked_record_is_re_driven_once_mended_and_nothing_else_runs_twice(stack: Stack) -> None:
    events = [ApplicationWithdrawn(application_id=uuid.uuid4(), reason=r) for r in (CURSED, "the next one")]
    handler = Flaky()
    await run_consumer(stack, events, handler, until=2)
    handler.mended = True

    sent = await redrive(stack.settings("intake"))
    assert (sent.sent, sent.skipped) == (1, 0)
    consumer = await run_consumer(stack, [], handler, until=1)

    assert consumer.processed == 1
    assert sorted(r["reason"] for r in await stack.fetch("SELECT reason FROM intake.effect")) == [
        CURSED, "the next one"]
    again = await redrive(stack.settings("intake"))  # the dead-letter topic was read to its end: nothing twice
    assert again.sent == 0
