"""The consumer's batch path, decided without a broker: records of a partition that arrive together go to the
service's batch handler at once, and one by one (with their retries and dead letters) whenever the batch fails; and
when their offsets are committed."""
from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord

from contracts import Applicant, ApplicationSubmitted, ApplicationWithdrawn, Event, to_record
from servicekit.consumer import EventConsumer, _Joined
from servicekit.liveness import PartStatus
from servicekit.settings import KafkaSettings, WorkerSettings

TOPIC = "intake.applications.v1"
TP = TopicPartition(TOPIC, 0)


def submitted() -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P3",
        applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
        planned_gpu_hours_per_month=1000, purpose="a Korean LLM")


def records(*values: Event | bytes, partition: int = 0) -> list[ConsumerRecord[bytes, bytes]]:
    out = []
    for offset, value in enumerate(values, start=40):
        if isinstance(value, bytes):  # a record no contract reads
            body, headers = value, [("ce_type", b"intake.application_submitted.v1"), ("ce_id", b"x")]
        else:
            record = to_record(value, source="/test")
            body, headers = record.value, list(record.headers)
        out.append(ConsumerRecord(TOPIC, partition, offset, 0, 0, None, body, None, 0, len(body), headers))
    return out


class Seen:
    """What the handlers were given, and what the consumer committed and parked."""

    def __init__(self, *, batch_fails: bool = False) -> None:
        self.batches: list[list[uuid.UUID]] = []
        self.one_by_one: list[uuid.UUID] = []
        self.committed: list[int] = []
        self.commits: list[dict[TopicPartition, int]] = []
        self.parked: list[int] = []
        self.batch_fails = batch_fails
        self.owned = {TopicPartition(TOPIC, n) for n in range(3)}
        self.commit_fails = False

    async def batch(self, delivered: list[tuple[Event, ConsumerRecord[bytes, bytes]]]) -> None:
        assert all(dict(r.headers)["ce_id"] == str(e.id).encode() for e, r in delivered)  # each with its record
        self.batches.append([e.id for e, _ in delivered])
        if self.batch_fails:
            raise RuntimeError("a handler raised")

    async def one(self, event: Event) -> None:
        self.one_by_one.append(event.id)

    def assignment(self) -> set[TopicPartition]:
        return set(self.owned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert set(offsets) <= self.owned, "aiokafka refuses to commit a partition not assigned"
        if self.commit_fails:
            raise KafkaConnectionError("the broker went away")
        self.commits.append(dict(offsets))
        if TP in offsets:
            self.committed.append(offsets[TP])

    async def send_and_wait(self, topic: str, value: bytes, **_: Any) -> None:
        assert topic == f"{TOPIC}.dlq"
        self.parked.append(len(value))


def consumer(seen: Seen, *, batched: bool = True, commit_interval_s: float = 1.0) -> EventConsumer:
    made = EventConsumer(KafkaSettings(), group_id="test", handlers={ApplicationSubmitted: seen.one},
                         worker=WorkerSettings(max_attempts=1, commit_interval_s=commit_interval_s),
                         batch=seen.batch if batched else None)
    made._dlq = seen  # type: ignore[assignment]  # stands in for the dead-letter producer
    return made


async def settle(made: EventConsumer, seen: Seen, batch: list[ConsumerRecord[bytes, bytes]]) -> None:
    await made._process_poll(seen, {TP: batch}, asyncio.Event())  # type: ignore[arg-type]  # commits only


async def test_records_that_arrive_together_are_handled_as_one_batch_and_committed_once() -> None:
    seen = Seen()
    events = [submitted() for _ in range(3)]
    withdrawn = ApplicationWithdrawn(application_id=events[0].application_id)  # no handler: passed over
    made = consumer(seen)
    await settle(made, seen, records(*events, withdrawn))
    assert seen.batches == [[e.id for e in events]]
    assert seen.one_by_one == []
    assert seen.committed == [44]
    assert made.processed == 3 and made.handled_by_topic == {TOPIC: 3}


async def test_a_failing_batch_is_settled_record_by_record() -> None:
    seen = Seen(batch_fails=True)
    events = [submitted() for _ in range(3)]
    await settle(consumer(seen), seen, records(*events))
    assert seen.batches == [[e.id for e in events]]
    assert seen.one_by_one == [e.id for e in events]
    assert seen.committed == [43]


async def test_a_record_that_does_not_decode_sends_the_batch_one_by_one_and_is_parked_alone() -> None:
    seen = Seen()
    first, last = submitted(), submitted()
    made = consumer(seen)
    await settle(made, seen, records(first, b'{"not": "an event"}', last))
    assert seen.batches == []  # nothing of the batch was handled as one
    assert seen.one_by_one == [first.id, last.id]
    assert seen.parked == [len(b'{"not": "an event"}')]
    assert seen.committed == [43] and made.dead_lettered == 1


async def test_a_service_without_a_batch_handler_and_a_single_record_go_one_by_one() -> None:
    seen = Seen()
    events = [submitted() for _ in range(2)]
    await settle(consumer(seen, batched=False), seen, records(*events))
    assert seen.batches == [] and seen.one_by_one == [e.id for e in events]
    alone = submitted()
    await settle(consumer(seen), seen, records(alone))
    assert seen.batches == [] and seen.one_by_one[-1] == alone.id


async def test_the_partitions_of_one_poll_are_one_batch_and_one_commit() -> None:
    seen = Seen()
    other = TopicPartition(TOPIC, 1)
    first, second = [submitted() for _ in range(3)], submitted()
    poll = {TP: records(*first), other: records(second, partition=1)}
    await consumer(seen)._process_poll(seen, poll, asyncio.Event())  # type: ignore[arg-type]  # commits only
    assert seen.batches == [[e.id for e in [*first, second]]]  # partition after partition, each in order
    assert seen.one_by_one == []
    assert seen.commits == [{TP: 43, other: 41}]


async def test_a_failing_poll_batch_is_settled_partition_by_partition_then_committed_once() -> None:
    seen = Seen(batch_fails=True)
    other = TopicPartition(TOPIC, 1)
    first, second = submitted(), submitted()
    poll = {TP: records(first), other: records(second, partition=1)}
    await consumer(seen)._process_poll(seen, poll, asyncio.Event())  # type: ignore[arg-type]  # commits only
    assert seen.batches == [[first.id, second.id]]
    assert seen.one_by_one == [first.id, second.id]
    assert seen.commits == [{TP: 41, other: 41}]


async def test_a_poll_cut_short_by_a_stop_commits_what_was_settled_before_it() -> None:
    seen = Seen()
    stop = asyncio.Event()
    made = consumer(seen, batched=False)
    first, second = submitted(), submitted()

    async def one(event: Event) -> None:  # the stop arrives while the first partition is settled
        seen.one_by_one.append(event.id)
        stop.set()

    made._handlers = {ApplicationSubmitted: one}
    other = TopicPartition(TOPIC, 1)
    poll = {TP: records(first, second), other: records(submitted(), partition=1)}
    await made._process_poll(seen, poll, stop)  # type: ignore[arg-type]  # commits only
    assert seen.one_by_one == [first.id]
    assert seen.commits == [{TP: 41}]  # the first record only; the rest is delivered again


def mangled(event: Event) -> ConsumerRecord[bytes, bytes]:
    """The event's record with a body that does not decode: its headers still name its type."""
    record = records(event)[0]
    return ConsumerRecord(TOPIC, 0, record.offset, 0, 0, None, b"{not json", None, 0, 9, record.headers)


async def test_a_record_of_a_type_the_consumer_does_not_handle_is_passed_over_unread() -> None:
    seen = Seen()
    unhandled = mangled(ApplicationWithdrawn(application_id=uuid.uuid4()))  # no handler here: not ours to judge
    handled = mangled(submitted())
    made = consumer(seen, batched=False)
    await settle(made, seen, [unhandled])
    assert seen.parked == [] and seen.committed == [41]
    await settle(made, seen, [handled])  # a type it handles that does not decode is parked
    assert seen.parked == [9] and made.dead_lettered == 1


async def test_offsets_are_committed_at_most_once_an_interval_and_the_latest_of_each_partition_goes() -> None:
    seen = Seen()
    made = consumer(seen, commit_interval_s=30)
    await settle(made, seen, records(submitted()))
    assert seen.committed == [41]  # the first poll's: nothing was committed before
    other = TopicPartition(TOPIC, 1)
    await made._process_poll(seen, {TP: records(submitted(), submitted())}, asyncio.Event())  # type: ignore[arg-type]
    await made._process_poll(seen, {other: records(submitted(), partition=1)}, asyncio.Event())  # type: ignore[arg-type]
    assert seen.commits == [{TP: 41}]  # handled, committed to the database, not yet to Kafka
    await made._commit(seen, now=True)  # type: ignore[arg-type]  # commits only
    assert seen.commits == [{TP: 41}, {TP: 42, other: 41}]
    await made._commit(seen, now=True)  # type: ignore[arg-type]  # commits only
    assert len(seen.commits) == 2  # nothing new settled: no request


async def test_with_no_interval_every_poll_is_committed() -> None:
    seen = Seen()
    made = consumer(seen, commit_interval_s=0)
    for _ in range(3):
        await settle(made, seen, records(submitted()))
    assert seen.committed == [41, 41, 41]


async def test_a_parked_record_and_a_stop_are_committed_at_once() -> None:
    seen = Seen()
    made = consumer(seen, batched=False, commit_interval_s=30)
    await settle(made, seen, records(submitted()))
    await settle(made, seen, records(submitted(), b'{"not": "an event"}'))  # parked: not parked twice on a restart
    assert seen.committed == [41, 42] and seen.parked
    stop = asyncio.Event()

    async def one(event: Event) -> None:
        stop.set()

    made._handlers = {ApplicationSubmitted: one}
    await made._process_poll(seen, {TP: records(submitted(), submitted())}, stop)  # type: ignore[arg-type]
    assert seen.committed == [41, 42, 41]


async def test_a_commit_that_fails_keeps_its_offsets_for_the_next_one() -> None:
    seen = Seen()
    made = consumer(seen, commit_interval_s=0)
    seen.commit_fails = True
    try:
        await settle(made, seen, records(submitted(), submitted()))
    except KafkaConnectionError:
        pass
    else:
        raise AssertionError("the failed commit was not reported")
    seen.commit_fails = False
    await made._commit(seen)  # type: ignore[arg-type]  # commits only
    assert seen.committed == [42]


async def test_before_partitions_are_taken_away_what_was_settled_of_them_is_committed_and_no_more_after() -> None:
    seen = Seen()
    made = consumer(seen, commit_interval_s=30)
    await settle(made, seen, records(submitted()))
    other = TopicPartition(TOPIC, 1)
    await made._process_poll(seen, {TP: records(submitted(), submitted()), other: records(submitted(), partition=1)},
                             asyncio.Event())  # type: ignore[arg-type]
    joined = _Joined(PartStatus("consumer"), lambda: made._commit(seen, now=True))  # type: ignore[arg-type]
    await joined.on_partitions_revoked({TP, other})
    assert seen.commits[-1] == {TP: 42, other: 41}
    seen.owned = {TP}  # the group gave `other` to another consumer while a poll of it was being handled
    await made._process_poll(seen, {TP: records(submitted(), submitted(), submitted()),  # type: ignore[arg-type]
                                    other: records(submitted(), partition=1)}, asyncio.Event())
    await made._commit(seen, now=True)  # type: ignore[arg-type]  # commits only
    assert seen.commits[-1] == {TP: 43}  # its new owner reads `other` again, and its inbox passes the record over


def written_at(record: ConsumerRecord[bytes, bytes], timestamp: int) -> ConsumerRecord[bytes, bytes]:
    return dataclasses.replace(record, timestamp=timestamp)


async def test_a_poll_is_handled_in_the_order_its_records_were_written_each_partition_in_its_own_order() -> None:
    allocated, warned, recovered, later = submitted(), submitted(), submitted(), submitted()
    first, second = records(allocated, later)
    other = [written_at(r, t) for r, t in zip(records(warned, recovered, partition=1), (200, 150), strict=True)]
    poll = {TopicPartition(TOPIC, 1): other, TP: [written_at(first, 100), written_at(second, 300)]}
    for batched in (True, False):  # as one batch, and one by one
        seen = Seen(batch_fails=not batched)
        made = consumer(seen, commit_interval_s=0)
        await made._process_poll(seen, poll, asyncio.Event())  # type: ignore[arg-type]  # commits only
        # 150 after 200: a partition's order is kept whatever its timestamps say
        expected = [allocated.id, warned.id, recovered.id, later.id]
        assert (seen.batches[0] if batched else seen.one_by_one) == expected
        assert seen.commits == [{TP: 42, TopicPartition(TOPIC, 1): 42}]


async def test_an_empty_poll_commits_what_was_settled_once_the_interval_has_passed() -> None:
    seen = Seen()
    made = consumer(seen, commit_interval_s=0.05)
    await settle(made, seen, records(submitted()))
    await settle(made, seen, records(submitted(), submitted()))  # within the interval: held
    assert seen.committed == [41]
    await asyncio.sleep(0.06)
    await made._process_poll(seen, {}, asyncio.Event())  # type: ignore[arg-type]  # a quiet topic's next poll
    assert seen.committed == [41, 42]
