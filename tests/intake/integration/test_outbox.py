"""The outbox (servicekit.outbox) in intake's unit of work, on the real database: the first event of a transaction
wakes the relay at the commit, not at a rollback, with no statement of its own."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
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


@asynccontextmanager
async def wake_ups(stack: Stack) -> AsyncIterator[asyncio.Queue[str]]:
    """The relay's wake-ups: each NOTIFY on intake's outbox channel, as it is delivered."""
    listener = await asyncpg.connect(stack.db_dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(channel(messaging.outbox), lambda _conn, _pid, name, _payload: heard.put_nowait(name))
    try:
        yield heard
    finally:
        await listener.close()


def withdrawn() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=uuid.uuid4(), reason="no longer needed")


async def test_the_first_event_wakes_the_relay_at_the_commit_in_its_own_statement(stack: Stack) -> None:
    statements: list[str] = []
    async with intake_runtime(stack) as runtime, wake_ups(stack) as heard:
        event.listen(runtime.engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, sql, *rest: statements.append(sql))
        async with runtime.uow_factory() as uow:
            await uow.outbox.add(withdrawn())
            await uow.outbox.add(withdrawn())
            await asyncio.sleep(0.2)
            assert heard.empty()  # not before the commit
            await uow.commit()
        assert await asyncio.wait_for(heard.get(), timeout=5) == channel(messaging.outbox)
    assert len(statements) == 2  # the two events' rows, and no SELECT pg_notify of its own
    assert all(s.lstrip().startswith("INSERT INTO intake.outbox") for s in statements)
    assert "pg_notify" in statements[0]
    assert await stack.count("intake.outbox") == 2


async def test_a_rollback_wakes_nobody_and_writes_nothing(stack: Stack) -> None:
    async with intake_runtime(stack) as runtime, wake_ups(stack) as heard:
        async with runtime.uow_factory() as uow:
            await uow.outbox.add(withdrawn())  # and no commit
        await asyncio.sleep(0.5)
        assert heard.empty()
    assert await stack.count("intake.outbox") == 0
