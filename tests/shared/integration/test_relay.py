"""The outbox relay on the real database and broker: a backlog goes out once each, each key's events in order on the
partition Kafka's clients give the key, several statements of rows to a transaction, the rows deleted as they are sent
(or kept, marked, when a retention is set); and a failure in any statement leaves every row of the transaction
unpublished."""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from alembic import command
from sqlalchemy import insert

from contracts import ApplicationWithdrawn, to_record
from intake.adapters.orm import messaging
from servicekit.db import make_engine
from servicekit.kafka import ensure_topics
from servicekit.migrations import alembic_config, upgrade
from servicekit.outbox import outbox_row
from servicekit.relay import OutboxRelay
from servicekit.retry import is_outage
from servicekit.settings import OutboxSettings
from support.kafka import read_topic
from support.services import SERVICES
from support.stack import Stack

KEYS, EACH = 7, 40  # 280 rows: 5 statements of 64, over 2 transactions of 3
SETTINGS = OutboxSettings(batch_size=64, batches_per_commit=3)
KEPT = SETTINGS.model_copy(update={"retention_days": 1})
MODES = pytest.mark.parametrize("settings", [SETTINGS, KEPT], ids=["deleted as sent", "kept, marked sent"])


async def backlog(stack: Stack, topic: str, keys: list[uuid.UUID], *, spoil: Any = None) -> None:
    """Outbox rows for `keys`, their events interleaved; `spoil` (if any) changes one of them."""
    rows = []
    for n in range(EACH):
        for key in keys:
            event = ApplicationWithdrawn(application_id=key, reason=f"{n}")
            rows.append({**outbox_row(event), "topic": topic})
    if spoil is not None:
        spoil(rows)
    await insert_rows(stack, rows)


async def insert_rows(stack: Stack, rows: list[dict[str, Any]]) -> None:
    engine = make_engine(stack.settings("intake").db)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(messaging.outbox), rows)
    finally:
        await engine.dispose()


def keys_over(partitions: list[int]) -> list[uuid.UUID]:
    """KEYS keys, at least one on each partition by aiokafka's partitioner (random keys would put all seven on one of
    two partitions one time in 64)."""
    default, keys, covered = DefaultPartitioner(), [], set()
    while len(keys) < KEYS:
        key = uuid.uuid4()
        partition = default(str(key).encode(), partitions, partitions)
        if partition in covered and KEYS - len(keys) <= len(partitions) - len(covered):
            continue  # the keys left are needed for the partitions not yet covered
        keys.append(key)
        covered.add(partition)
    return keys


async def new_topic(stack: Stack) -> str:
    topic = stack.topic(f"relay-{uuid.uuid4().hex[:6]}")
    await ensure_topics(stack.settings("intake").kafka, [topic], client_id="test")
    return topic


def relay(stack: Stack, settings: OutboxSettings = SETTINGS) -> tuple[OutboxRelay, Any]:
    service = stack.settings("intake")
    engine = make_engine(service.db)
    return OutboxRelay(engine, messaging, service.kafka, settings, source="/test", client_id="test-relay"), engine


@MODES
async def test_a_backlog_goes_out_once_each_in_order_on_each_keys_partition(stack: Stack,
                                                                            settings: OutboxSettings) -> None:
    service = stack.settings("intake")
    topic = await new_topic(stack)
    partitions = list(range(service.kafka.topic_partitions))
    keys = keys_over(partitions)
    await backlog(stack, topic, keys)
    publisher, engine = relay(stack, settings)
    try:
        sent = [await publisher.publish_batch() for _ in range(3)]
    finally:
        await publisher._drop_producer()
        await engine.dispose()
    assert sent == [3 * 64, KEYS * EACH - 3 * 64, 0]  # three statements in the first transaction, the rest after
    assert await stack.count("intake.outbox WHERE published_at IS NULL") == 0
    assert await stack.count("intake.outbox") == (KEYS * EACH if settings.retention_days else 0)

    records = await read_topic(stack.infra.kafka_bootstrap, topic, at_least=KEYS * EACH)
    assert len(records) == KEYS * EACH
    default = DefaultPartitioner()
    for key in keys:
        mine = [r for r in records if r.key == str(key).encode()]
        assert {r.partition for r in mine} == {default(str(key).encode(), partitions, partitions)}
        assert [int(r.value.decode().split('"reason":"')[1].split('"')[0]) for r in sorted(
            mine, key=lambda r: r.offset)] == list(range(EACH))  # written in order, once each
    assert len({r.partition for r in records}) > 1  # the keys spread: the order held across partitions too


def unknown_topic(at: int) -> Any:
    def spoil(rows: list[dict[str, Any]]) -> None:
        rows[at]["topic"] = "not a topic name!"
    return spoil


@pytest.mark.parametrize(("spoil", "raised", "settings"), [
    # in the first statement's rows, while the next statement is still reading
    (unknown_topic(10), Exception, SETTINGS), (unknown_topic(10), Exception, KEPT),
    (unknown_topic(150), Exception, SETTINGS),  # in the third statement, when the producer gives up on the topic
], ids=["Kafka refuses a row of the first statement, deleted as sent", "the same, kept",
        "Kafka refuses a row of the third statement"])
async def test_a_failure_leaves_every_row_of_its_transaction_unpublished(
        stack: Stack, spoil: Any, raised: type[Exception], settings: OutboxSettings) -> None:
    topic = await new_topic(stack)
    await backlog(stack, topic, [uuid.uuid4() for _ in range(KEYS)], spoil=spoil)
    first_five = [r["seq"] for r in await stack.fetch("SELECT seq FROM intake.outbox ORDER BY seq LIMIT 5")]
    publisher, engine = relay(stack, settings)
    try:
        with pytest.raises(raised):
            await publisher.publish_batch()
        assert publisher.published == 0
        assert await stack.count("intake.outbox WHERE published_at IS NULL") == KEYS * EACH
        # the relay's connection went back clean: the next transaction reads again from the first row
        async with engine.begin() as conn:
            assert [row.seq for row in await publisher._claim_rows(conn, 5, after=0)] == first_five
    finally:
        await publisher._drop_producer()
        await engine.dispose()


@pytest.mark.parametrize(("retention_days", "left"), [(0, 0), (1, 1)])
async def test_rows_marked_sent_are_purged_once_past_the_retention(stack: Stack, retention_days: int,
                                                                   left: int) -> None:
    """Marked rows older than the retention go (with none set, all of them: rows a relay that kept them left behind);
    unpublished rows stay whatever their age."""
    await backlog(stack, stack.topic("relay-purge"), [uuid.uuid4()])
    await stack.fetch("UPDATE intake.outbox SET published_at = now() - interval '2 hours' WHERE seq IN "
                      "(SELECT seq FROM intake.outbox ORDER BY seq LIMIT 2)")
    await stack.fetch("UPDATE intake.outbox SET published_at = now() - interval '2 days' WHERE seq IN "
                      "(SELECT seq FROM intake.outbox ORDER BY seq LIMIT 1)")
    await stack.fetch("UPDATE intake.outbox SET created_at = now() - interval '30 days' WHERE published_at IS NULL")
    publisher, engine = relay(stack, SETTINGS.model_copy(update={"retention_days": retention_days}))
    try:
        await publisher.purge_published()
    finally:
        await engine.dispose()
    assert await stack.count("intake.outbox WHERE published_at IS NULL") == EACH - 2
    assert await stack.count("intake.outbox WHERE published_at IS NOT NULL") == left  # the one sent 2 hours ago


async def test_a_connection_that_broke_is_dropped_and_the_next_batch_goes_out_on_a_new_one(stack: Stack) -> None:
    """The database drops the relay's idle pooled connection (a restart, a failover): the next batch fails as an
    outage, which the relay backs off from, and the one after goes out on a new connection."""
    topic = await new_topic(stack)
    await backlog(stack, topic, [uuid.uuid4() for _ in range(KEYS)])
    publisher, engine = relay(stack, SETTINGS.model_copy(update={"batches_per_commit": 1}))
    try:
        assert await publisher.publish_batch() == 64  # the pool now holds the relay's connection, idle
        await stack.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        with pytest.raises(Exception) as broken:  # whichever way the driver reports it: an outage
            await publisher.publish_batch()
        assert is_outage(broken.value)
        assert await publisher.publish_batch() == 64  # on a new connection, from where it stopped
    finally:
        await publisher._drop_producer()
        await engine.dispose()
    assert await stack.count("intake.outbox") == KEYS * EACH - 2 * 64


def rows_read(plan: dict[str, Any]) -> int:
    """Rows a node and the nodes under it produced, over all their loops (EXPLAIN ANALYZE's JSON)."""
    return int(plan["Actual Rows"] * plan["Actual Loops"]) + sum(rows_read(p) for p in plan.get("Plans", []))


@MODES
async def test_a_claim_reads_each_row_about_once_even_when_the_statistics_say_the_outbox_is_empty(
        stack: Stack, settings: OutboxSettings) -> None:
    """Between two bursts the outbox was empty when it was analyzed (autovacuum does so on its own): its statistics
    say no rows, in pages the deleted rows still hold. A backlog then arrives. The claim reads each row about once,
    whatever plan the statistics choose; `seq IN (the oldest rows)` was joined as a nested loop that read the oldest
    rows again for every row of the table: ~210,000 rows read here, a second for 500 of 5,000."""
    topic = await new_topic(stack)
    await backlog(stack, topic, [uuid.uuid4() for _ in range(KEYS)])
    await stack.fetch("DELETE FROM intake.outbox")
    await stack.fetch("ANALYZE intake.outbox")
    [stats] = await stack.fetch("SELECT reltuples, relpages FROM pg_class WHERE oid = 'intake.outbox'::regclass")
    assert (stats["reltuples"], stats["relpages"] > 0) == (0, True)  # empty, by the statistics, in pages
    for _ in range(3):
        await backlog(stack, topic, [uuid.uuid4() for _ in range(KEYS)])
    publisher, engine = relay(stack, settings)
    claim = publisher._claim.compile(dialect=engine.dialect)  # the statement as the relay sends it
    values = {"lock_key": publisher._lock_key, "batch_size": settings.batch_size, "after": 0}
    try:
        async with engine.connect() as conn:
            [[plan]] = (await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {claim}",
                                                   tuple(values[name] for name in claim.positiontup or ()))).all()
            await conn.rollback()
    finally:
        await engine.dispose()
    top = plan[0]["Plan"]
    assert top["Actual Rows"] == settings.batch_size  # the oldest rows, claimed
    assert rows_read(top) <= 8 * settings.batch_size  # a handful of nodes, each passing the batch once; not a pass
    # over the batch for every row of the table
    assert await stack.count("intake.outbox WHERE published_at IS NULL") == 3 * KEYS * EACH  # rolled back


async def the_one_record_sent(stack: Stack, topic: str) -> Any:
    """The relay publishes the outbox's one row; the record it put on `topic`."""
    publisher, engine = relay(stack)
    try:
        assert await publisher.publish_batch() == 1
    finally:
        await publisher._drop_producer()
        await engine.dispose()
    [sent] = await read_topic(stack.infra.kafka_bootstrap, topic, at_least=1)
    return sent


async def test_a_record_goes_out_byte_for_byte_as_the_event_encodes_to(stack: Stack) -> None:
    """The outbox keeps the data as the compact JSON written (a `json` column) and the envelope in columns: the relay
    sends what `to_record` makes of the event, without parsing or writing the JSON again."""
    topic = await new_topic(stack)
    event = ApplicationWithdrawn(application_id=uuid.uuid4(), reason='연구 종료: "done", \\ and a tab\there')
    await insert_rows(stack, [{**outbox_row(event), "topic": topic}])
    sent = await the_one_record_sent(stack, topic)
    expected = to_record(event, source="/test")
    assert (sent.key, sent.value, list(sent.headers)) == (expected.key, expected.value, expected.headers)


async def test_rows_waiting_when_the_outbox_changes_shape_go_out_as_the_same_event(stack: Stack) -> None:
    """The migration that moved the envelope into columns (`servicekit.migrations.outbox_data_as_json`): a row
    written before it, the whole event as `jsonb`, is sent with the same headers and the same JSON (PostgreSQL's
    spacing); undone, a row written after it is the whole event again."""
    migrations, url = SERVICES["intake"].migrations, stack.settings("intake").db.url
    topic = await new_topic(stack)
    before, after = (ApplicationWithdrawn(application_id=uuid.uuid4(), reason=r) for r in ("before", "after"))
    await asyncio.to_thread(command.downgrade, alembic_config(migrations, url), "0011")
    try:
        await stack.fetch("INSERT INTO intake.outbox (event_id, topic, key, type, payload) VALUES ($1, $2, $3, $4, $5)",
                          before.id, topic, before.subject, before.type, json.dumps(before.model_dump(mode="json")))
    finally:
        await asyncio.to_thread(upgrade, migrations, url)
    sent = await the_one_record_sent(stack, topic)
    expected = to_record(before, source="/test")
    assert (sent.key, list(sent.headers)) == (expected.key, expected.headers)
    assert json.loads(sent.value) == json.loads(expected.value)

    await insert_rows(stack, [{**outbox_row(after), "topic": topic}])
    await asyncio.to_thread(command.downgrade, alembic_config(migrations, url), "0011")
    try:
        [row] = await stack.fetch("SELECT payload FROM intake.outbox")
        assert json.loads(row["payload"]) == after.model_dump(mode="json")
    finally:
        await asyncio.to_thread(upgrade, migrations, url)
