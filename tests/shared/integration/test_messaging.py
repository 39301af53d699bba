"""The messaging kit on the real broker and database: inbox, outbox through an outage, dead letters."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from contracts import ApplicationScored, ApplicationWithdrawn, to_record, topics
from intake.adapters.orm import messaging
from servicekit.consumer import EventConsumer
from servicekit.runtime import build_runtime, prepare_topics
from servicekit.uow import SqlUnitOfWork
from servicekit.worker import event_handlers
from support.auth import bearer
from support.infra import KafkaControl
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

PARTNER = bearer("partner")
APPLICATION = {
    "program": "P3",
    "applicant": {"name": "Dr. Lee", "sector": "research_institute", "institution": "ETRI", "region": "Daejeon"},
    "gpus_requested": 8, "gpu_model": "H100", "earliest_start": "2026-12-01", "acceptable_window_months": 2,
    "period_start": "2026-12-01", "period_end": "2027-01-31", "planned_gpu_hours_per_month": 3000,
    "purpose": "speech recognition",
}



async def record_effect(event: ApplicationWithdrawn, uow: SqlUnitOfWork) -> None:
    """A deliberately non-idempotent effect: only the inbox stands between a redelivery and a second row."""
    await uow.session.execute(text("INSERT INTO intake.effect (application_id) VALUES (:id)"),
                              {"id": event.application_id})


async def test_a_redelivered_event_is_processed_once(stack: Stack) -> None:
    await stack.fetch("CREATE TABLE intake.effect (application_id uuid NOT NULL)")
    settings = stack.settings("intake")
    await prepare_topics(settings)
    runtime = build_runtime(settings, messaging, SqlUnitOfWork, {ApplicationWithdrawn: record_effect})
    consumer = EventConsumer(settings.kafka, group_id="intake",
                             handlers=event_handlers(runtime.bus, {ApplicationWithdrawn: lambda e: e}))
    event = ApplicationWithdrawn(application_id=uuid.uuid4(), reason="duplicate delivery test")
    record = to_record(event, source="/test")
    for _ in range(2):  # the same event id twice, as after a producer retry or a consumer crash
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), record.value,
                          key=record.key, headers=record.headers)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: asyncio.sleep(0, consumer.processed >= 2), what="both deliveries handled")
    finally:
        stop.set()
        await task
        await runtime.aclose()
    assert len(await stack.fetch("SELECT * FROM intake.effect")) == 1
    assert len(await stack.fetch("SELECT * FROM intake.inbox")) == 1


@pytest.mark.slow
async def test_an_event_written_while_kafka_is_down_is_published_when_it_returns(stack: Stack) -> None:
    kafka = KafkaControl(stack.infra)
    await prepare_topics(stack.settings("intake"))
    async with stack.api("intake") as api, stack.worker("intake") as worker:
        await asyncio.to_thread(kafka.stop)
        try:
            response = await api.post("/applications", json=APPLICATION, headers=PARTNER)
            assert response.status_code == 201  # the request never waits on the broker
            await asyncio.sleep(3)  # the relay tries, fails and backs off meanwhile
            unpublished = await stack.fetch("SELECT * FROM intake.outbox WHERE published_at IS NULL")
            assert len(unpublished) == 1
        finally:
            await asyncio.to_thread(kafka.start)
        await eventually(lambda: asyncio.sleep(0, worker.relay.published >= 1), timeout=90,
                         what="the relay to publish after the broker came back")
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS))
    assert [r.key.decode() for r in records] == [response.json()["id"]]
    assert await stack.fetch("SELECT * FROM intake.outbox WHERE published_at IS NULL") == []


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_next_good_one_is_processed(
        stack: Stack) -> None:
    scores = stack.topic(topics.SCORES)
    async with stack.api("intake") as api, stack.worker("intake") as worker:
        app = (await api.post("/applications", json=APPLICATION, headers=PARTNER)).json()
        good = to_record(ApplicationScored(
            application_id=uuid.UUID(app["id"]), program="P3", score=77.0, policy_version="2026.1",
            institution="ETRI", gpus_requested=8, gpu_model="H100", period_start=date(2026, 12, 1),
            period_end=date(2027, 1, 31), planned_gpu_hours_per_month=3000), source="/test")
        bad_type = [(k, b"evaluation.application_scored.v7" if k == "ce_type" else v) for k, v in good.headers]
        poison = [(b"{not json", good.headers), (good.value, []), (good.value, bad_type)]
        for value, headers in poison:
            await produce_raw(stack.infra.kafka_bootstrap, scores, value, key=good.key, headers=headers)
        await produce_raw(stack.infra.kafka_bootstrap, scores, good.value, key=good.key, headers=good.headers)

        async def scored() -> bool:
            return (await api.get(f"/applications/{app['id']}", headers=PARTNER)).json()["status"] == "scored"

        await eventually(scored, what="the good message after the poison to be processed")
        assert worker.consumer.dead_lettered == 3
    dead = await read_topic(stack.infra.kafka_bootstrap, topics.dead_letter(scores), at_least=3)
    reasons = [dict(r.headers)["dlq_error"].decode() for r in dead]
    assert len(dead) == 3
    assert "not JSON" in reasons[0]
    assert "missing CloudEvents headers" in reasons[1]
    assert "unknown event type" in reasons[2]


async def test_a_commit_wakes_the_relay_long_before_its_next_poll(stack: Stack) -> None:
    """The outbox row's transaction notifies the relay at commit; polling every minute is only the fallback."""
    async with stack.api("intake") as api, stack.worker("intake", outbox={"poll_interval_s": 60}) as worker:
        await eventually(lambda: asyncio.sleep(0, worker.relay.listening), what="the relay to listen")
        response = await api.post("/applications", json=APPLICATION, headers=PARTNER)
        await eventually(lambda: asyncio.sleep(0, worker.relay.published >= 1), timeout=20,
                         what="the relay to publish on the notification, not at its poll a minute later")
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS))
    assert [r.key.decode() for r in records] == [response.json()["id"]]
