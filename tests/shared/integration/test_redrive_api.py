"""An operator re-drives one parked record through a service's API (`POST /dead-letters/redrive`), on the real broker:
the record goes back to the topic it came from with its key and original headers; a place that holds no record, a
record another service's consumer parked, bad input and callers other than operators are refused, and a refusal
publishes nothing."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import ApplicationWithdrawn, to_record, topics
from servicekit.runtime import prepare_topics
from support.auth import OPERATOR, bearer
from support.kafka import read_topic
from support.stack import Stack

REDRIVE = "/dead-letters/redrive"
PROBLEM = "application/problem+json"
PARKER = "allocation"  # the service whose consumer parked the records, unless a test says otherwise
TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass(frozen=True)
class Parked:
    """A record on a dead-letter topic: where it is, and what it held before it was parked."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def body(self, **changes: Any) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset, **changes}


@pytest.fixture
async def producer(stack: Stack) -> AsyncIterator[AIOKafkaProducer]:
    await prepare_topics(stack.settings(PARKER))  # the dead-letter topics, as a worker creates them
    client = AIOKafkaProducer(bootstrap_servers=stack.infra.kafka_bootstrap, acks="all")
    await client.start()
    yield client
    await client.stop()


async def park(stack: Stack, producer: AIOKafkaProducer, *, consumer: str = PARKER, reason: str = "any") -> Parked:
    """A record of the applications topic, parked the way servicekit.consumer parks it: key, value and original
    headers (the trace context among them), and the `dlq_*` headers of the consumer that gave up on it."""
    source = stack.topic(topics.APPLICATIONS)
    event = ApplicationWithdrawn(application_id=uuid.uuid4(), reason=reason)
    record = to_record(event, source="/test", extra_headers=[("ce_traceparent", TRACEPARENT)])
    why = [("dlq_error", b"cannot handle it"), ("dlq_error_type", b"builtins.ValueError"),
           ("dlq_handler", b"on_withdrawn"), ("dlq_attempts", b"3"), ("dlq_consumer", consumer.encode()),
           ("dlq_source", f"{source}/1/41".encode())]
    sent = await producer.send_and_wait(topics.dead_letter(source), record.value, key=record.key,
                                        headers=[*record.headers, *why])
    return Parked(sent.topic, sent.partition, sent.offset, record.key, record.value, list(record.headers))


async def records_on(stack: Stack, topic: str) -> int:
    """How many records the topic holds, all partitions together."""
    partitions = [TopicPartition(topic, p) for p in range(stack.settings(PARKER).kafka.topic_partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.infra.kafka_bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def fields(answer: Any) -> list[str]:
    assert answer.headers["content-type"] == PROBLEM, answer.text
    return [e["field"] for e in answer.json()["errors"]]


async def test_an_operator_re_drives_one_parked_record_to_its_source_topic_with_its_key_and_headers(
        stack: Stack, producer: AIOKafkaProducer) -> None:
    left, chosen = await park(stack, producer, reason="left"), await park(stack, producer, reason="chosen")
    source = stack.topic(topics.APPLICATIONS)
    async with stack.api(PARKER) as api:
        answer = await api.post(REDRIVE, json=chosen.body(), headers=OPERATOR)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {**chosen.body(), "source": source, "consumer": PARKER}
    assert await records_on(stack, source) == 1  # that one record, not the other parked beside it
    (back,) = await read_topic(stack.infra.kafka_bootstrap, source)
    assert (back.key, back.value) == (chosen.key, chosen.value) != (left.key, left.value)
    assert list(back.headers) == chosen.headers  # the original headers, in order, and no dlq_* header
    assert ("ce_traceparent", TRACEPARENT) in back.headers
    assert await records_on(stack, chosen.topic) == 2  # the dead-letter topic keeps what it holds


async def test_a_place_that_holds_no_record_is_a_404_naming_the_offset_or_the_partition(
        stack: Stack, producer: AIOKafkaProducer) -> None:
    parked = await park(stack, producer)
    empty = topics.dead_letter(stack.topic(topics.INVOICES))  # a dead-letter topic nothing was ever parked on
    async with stack.api(PARKER) as api:
        past_the_end = await api.post(REDRIVE, json=parked.body(offset=parked.offset + 1), headers=OPERATOR)
        on_an_empty_topic = await api.post(REDRIVE, json={"topic": empty, "partition": 0, "offset": 0},
                                           headers=OPERATOR)
        no_such_partition = await api.post(REDRIVE, json=parked.body(partition=7), headers=OPERATOR)

    assert [r.status_code for r in (past_the_end, on_an_empty_topic, no_such_partition)] == [404, 404, 404]
    assert fields(past_the_end) == fields(on_an_empty_topic) == ["offset"]
    assert fields(no_such_partition) == ["partition"]
    assert f"no record at offset {parked.offset + 1}" in past_the_end.json()["detail"]
    assert await records_on(stack, stack.topic(topics.APPLICATIONS)) == 0


async def test_a_record_parked_by_another_service_is_a_409_naming_it_and_that_service_re_drives_it(
        stack: Stack, producer: AIOKafkaProducer) -> None:
    parked = await park(stack, producer, consumer="evaluation")
    source = stack.topic(topics.APPLICATIONS)
    async with stack.api(PARKER) as api:
        refused = await api.post(REDRIVE, json=parked.body(), headers=OPERATOR)
    sent_on_refusal = await records_on(stack, source)
    async with stack.api("evaluation") as api:
        done = await api.post(REDRIVE, json=parked.body(), headers=OPERATOR)

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert "parked by evaluation's consumer, not allocation's" in refused.json()["detail"]
    assert sent_on_refusal == 0
    assert (done.status_code, done.json()["consumer"]) == (200, "evaluation"), done.text
    assert await records_on(stack, source) == 1


async def test_bad_input_is_a_422_naming_the_field_and_sends_nothing(stack: Stack, producer: AIOKafkaProducer) -> None:
    parked = await park(stack, producer)
    source = stack.topic(topics.APPLICATIONS)
    bad = {
        "a topic that is not a dead-letter topic": (parked.body(topic=source), "topic"),
        "a dead-letter topic of another deployment": (parked.body(topic=f"elsewhere.{topics.APPLICATIONS}.dlq"),
                                                      "topic"),
        "a negative offset": (parked.body(offset=-1), "offset"),
        "an offset out of range": (parked.body(offset=2**62), "offset"),
        "a partition out of range": (parked.body(partition=10_001), "partition"),
        "no offset": ({"topic": parked.topic, "partition": parked.partition}, "offset"),
        "a field it does not take": (parked.body(consumer=PARKER), "consumer"),
    }
    async with stack.api(PARKER) as api:
        answers = {case: await api.post(REDRIVE, json=body, headers=OPERATOR) for case, (body, _) in bad.items()}
        sent_on_refusals = await records_on(stack, source)
        good = await api.post(REDRIVE, json=parked.body(), headers=OPERATOR)

    assert {case: (a.status_code, fields(a)) for case, a in answers.items()} == {
        case: (422, [field]) for case, (_, field) in bad.items()}
    assert "is not a dead-letter topic of this deployment" in answers[
        "a dead-letter topic of another deployment"].json()["detail"]
    assert sent_on_refusals == 0
    assert good.status_code == 200, good.text  # the same record, asked for rightly
    assert await records_on(stack, source) == 1


async def test_only_an_operator_may_re_drive(stack: Stack, producer: AIOKafkaProducer) -> None:
    parked = await park(stack, producer)
    source = stack.topic(topics.APPLICATIONS)
    async with stack.api(PARKER) as api:
        anonymous = await api.post(REDRIVE, json=parked.body())
        others = {role: await api.post(REDRIVE, json=parked.body(), headers=bearer(role))
                  for role in ("partner", "reviewer", "csp")}
        sent_on_refusals = await records_on(stack, source)
        operator = await api.post(REDRIVE, json=parked.body(), headers=OPERATOR)

    assert (anonymous.status_code, fields(anonymous)) == (401, ["Authorization"])
    assert {role: a.status_code for role, a in others.items()} == dict.fromkeys(others, 403)
    assert all(a.headers["content-type"] == PROBLEM for a in others.values())
    assert sent_on_refusals == 0
    assert operator.status_code == 200, operator.text
    assert await records_on(stack, source) == 1
