"""The outbox (servicekit.outbox) in intake's unit of work, on the real database: a unit's events are written at
its commit in one statement, in the order they were added, which wakes the relay then, not at a rollback."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event

from contracts import ApplicationWithdrawn
from intake.adapters.orm import messaging
from intake.bootstrap import bootstrap
from servicekit.outbox import channel
from servicekit.runtime import Runtime
from support.stack import Stack


@asynccontextmanager
async def intake_runtime(stack: Stack) -> AsyncIterator[Runtime[Any]]:
    runtime = bootstrap(stack.settings("intake"))
    try:
        yield runtime
    finally:
        await runtime.aclose()


def withdrawn() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=uuid.uuid4(), reason="no longer needed")


async def test_a_units_events_are_one_statement_at_the_commit_that_wakes_the_relay(stack: Stack) -> None:
    statements: list[str] = []
    async with intake_runtime(stack) as runtime, stack.notifications(channel(messaging.outbox)) as heard:
        event.listen(runtime.engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, sql, *rest: statements.append(sql))
        async with runtime.uow_factory() as uow:
            await uow.outbox.add(withdrawn())
            await uow.outbox.add(withdrawn())
            await asyncio.sleep(0.2)
            assert heard.empty()  # not before the commit
            await uow.commit()
        assert await asyncio.wait_for(heard.get(), timeout=5) == channel(messaging.outbox)
    [statement] = statements  # the two events' rows at the commit, and no SELECT pg_notify of its own
    assert statement.lstrip().startswith("INSERT INTO intake.outbox")
    assert "pg_notify" in statement
    assert await stack.count("intake.outbox") == 2


async def test_a_rollback_wakes_nobody_and_writes_nothing(stack: Stack) -> None:
    async with intake_runtime(stack) as runtime, stack.notifications(channel(messaging.outbox)) as heard:
        async with runtime.uow_factory() as uow:
            await uow.outbox.add(withdrawn())  # and no commit
        await asyncio.sleep(0.5)
        assert heard.empty()
    assert await stack.count("intake.outbox") == 0


async def test_a_units_events_keep_the_order_they_were_added_in(stack: Stack) -> None:
    events = [withdrawn() for _ in range(50)]
    async with intake_runtime(stack) as runtime:
        async with runtime.uow_factory() as uow:
            for added in events:
                await uow.outbox.add(added)
            await uow.commit()
    rows = await stack.fetch("SELECT event_id, key FROM intake.outbox ORDER BY seq")
    assert [r["event_id"] for r in rows] == [e.id for e in events]
    assert [r["key"] for r in rows] == [str(e.application_id) for e in events]
