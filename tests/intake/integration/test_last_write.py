"""A unit of work's last write carrying its events (SqlUnitOfWork.write_last), on the real database: a P3 submission
is one statement on the wire, without BEGIN and COMMIT, its event and wake-up included; a unit in which something ran
first runs it inside its transaction; events keep their order; a failing last write stores no event; the connection
goes back to the pool transactional again."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from contracts import ApplicationWithdrawn
from intake.adapters.orm import messaging
from intake.bootstrap import bootstrap
from intake.domain.calls import IntakeMode, Program
from intake.domain.commands import CreateApplication
from intake.domain.forms import Applicant, Form, Limits
from intake.domain.model import Application, new_application
from servicekit.outbox import channel
from servicekit.runtime import Runtime
from support.stack import Stack

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
P3_FORM = Form(program="P3", applicant=Applicant("Dr. Kim", "academia", "KAIST", "Daejeon"), gpu_model="H100",
               period_start=date(2026, 12, 1), period_end=date(2027, 2, 28), planned_gpu_hours_per_month=2000,
               purpose="fine-tuning a Korean LLM", gpus_requested=4, earliest_start=date(2026, 12, 1),
               acceptable_window_months=3)
P3 = Program("P3", "Government GPUs", IntakeMode.ROLLING)


def submitted() -> Application:
    return new_application(uuid.uuid4(), uuid.uuid4(), P3_FORM, program=P3, call=None, at=AT, limits=Limits(),
                           submit=True)


@asynccontextmanager
async def intake_runtime(stack: Stack) -> AsyncIterator[Runtime[Any]]:
    runtime = bootstrap(stack.settings("intake"), clock=lambda: AT)
    try:
        yield runtime
    finally:
        await runtime.aclose()


@dataclass
class Wire:
    statements: list[str] = field(default_factory=list)  # what SQLAlchemy executes, in order
    transactions: list[str] = field(default_factory=list)  # BEGIN, COMMIT and ROLLBACK, as asyncpg sends them


@contextmanager
def on_the_wire(runtime: Runtime[Any]) -> Iterator[Wire]:
    """What the engine's connections send while checked out: the statements, and the transaction control that
    asyncpg sends apart from them (its query logger; it calls it soon after, not inline)."""
    wire = Wire()

    def statement(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        wire.statements.append(" ".join(sql.split()))

    def control(record: Any) -> None:
        if record.query.split()[0].rstrip(";") in {"BEGIN", "COMMIT", "ROLLBACK"}:
            wire.transactions.append(record.query.split()[0].rstrip(";"))

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(control)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.remove_query_logger(control)

    engine = runtime.engine.sync_engine
    listeners = (("before_cursor_execute", statement), ("checkout", checkout), ("checkin", checkin))
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield wire
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def withdrawn() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=uuid.uuid4(), reason="no longer needed")


async def test_a_p3_submission_is_one_statement_with_its_history_its_event_and_the_relays_wake_up(
        stack: Stack) -> None:
    async with intake_runtime(stack) as runtime:
        # the connection's first statement has asyncpg read the types it binds (in a transaction of its own)
        await runtime.bus.handle(CreateApplication(partner_id=uuid.uuid4(), form=P3_FORM))
        async with stack.notifications(channel(messaging.outbox)) as heard:
            with on_the_wire(runtime) as wire:
                app = await runtime.bus.handle(CreateApplication(partner_id=uuid.uuid4(), form=P3_FORM))
                await asyncio.sleep(0.05)
            assert await asyncio.wait_for(heard.get(), timeout=5) == channel(messaging.outbox)
    assert wire.transactions == []  # no BEGIN, no COMMIT
    [statement] = wire.statements  # and no INSERT of the event's own
    assert statement.startswith("WITH stored AS (INSERT INTO intake.application")
    assert "outbox_events AS (INSERT INTO intake.outbox" in statement
    [row] = await stack.fetch("SELECT status FROM intake.application WHERE id = $1", app.id)
    assert row["status"] == "submitted"
    assert [r["status"] for r in await stack.fetch(
        "SELECT status FROM intake.application_status WHERE application_id = $1 ORDER BY seq", app.id)] == [
        "submitted"]
    [stored] = await stack.fetch("SELECT key, type, json_typeof(payload) AS kind, payload->>'application_id' AS id,"
                                 " payload->>'gpus_requested' AS gpus, payload::text AS text, occurred_at"
                                 " FROM intake.outbox WHERE key = $1", str(app.id))
    assert (stored["key"], stored["type"], stored["kind"]) == (str(app.id), "intake.application_submitted.v1", "object")
    assert (stored["id"], stored["gpus"]) == (str(app.id), "4")
    # the data as the relay sends it: compact JSON, without the envelope, which is in columns
    assert f'"application_id":"{app.id}"' in stored["text"] and '"occurred_at"' not in stored["text"]
    assert datetime.fromisoformat(stored["occurred_at"]).tzinfo is not None  # the event's time, as JSON wrote it


async def test_after_another_statement_the_last_write_runs_in_the_units_transaction(stack: Stack) -> None:
    async with intake_runtime(stack) as runtime:
        with on_the_wire(runtime) as wire:
            async with runtime.uow_factory() as uow:
                assert await uow.calls.get(uuid.uuid4(), lock="share") is None  # a P1 or P2 form's call, locked
                await uow.applications.add(submitted(), AT)
                await uow.outbox.add(withdrawn())
                await uow.outbox.add(withdrawn())
                await uow.commit()
            await asyncio.sleep(0.05)
    assert wire.transactions == ["BEGIN", "COMMIT"]
    assert [q.split(" ")[0] for q in wire.statements] == ["SELECT", "WITH"], wire.statements
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 2


async def test_events_added_before_and_after_the_last_write_ride_on_it_in_their_order(stack: Stack) -> None:
    first, second = withdrawn(), withdrawn()
    async with intake_runtime(stack) as runtime:
        async with runtime.uow_factory() as uow:
            await uow.outbox.add(first)
            await uow.applications.add(submitted(), AT)
            await uow.outbox.add(second)
            await uow.commit()
    rows = await stack.fetch("SELECT event_id FROM intake.outbox ORDER BY seq")
    assert [r["event_id"] for r in rows] == [first.id, second.id]


async def test_a_failing_last_write_stores_neither_the_application_nor_its_event(stack: Stack) -> None:
    app = submitted()
    async with intake_runtime(stack) as runtime:
        async with runtime.uow_factory() as uow:
            await uow.applications.add(app, AT)
            await uow.commit()
        app.history.append((app.status, ""))  # the same application again: its id is taken
        with pytest.raises(IntegrityError):
            async with runtime.uow_factory() as uow:
                await uow.applications.add(app, AT)
                await uow.outbox.add(withdrawn())
                await uow.commit()
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 0


async def test_a_unit_left_without_its_commit_writes_nothing_and_its_connection_is_transactional_again(
        stack: Stack) -> None:
    settings = stack.settings("intake")
    # a pool of one: the next unit gets the same connection back
    settings = settings.model_copy(update={"db": settings.db.model_copy(update={"pool_size": 1})})
    runtime = bootstrap(settings, clock=lambda: AT)
    try:
        async with runtime.uow_factory() as uow:  # run alone, in autocommit
            await uow.applications.add(submitted(), AT)
            await uow.commit()
            alone = (await uow.session.get_raw_connection()).driver_connection
        async with runtime.uow_factory() as uow:
            assert (await uow.session.get_raw_connection()).driver_connection is alone
            await uow.outbox.add(withdrawn())  # waits for a commit that never comes
        async with runtime.uow_factory() as uow:
            await uow.applications.add(submitted(), AT)
            await uow.outbox.add(withdrawn())  # waits for the last write, which never runs
    finally:
        await runtime.aclose()
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 0
