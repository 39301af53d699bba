"""A pooled connection the server has ended while it sat idle (a restart, a failover, an administrator) is found by
the ping at checkout and replaced, so the next transaction runs; a connection in steady use is not pinged, and the
first statement on a dropped one fails once. On the real PostgreSQL: the server ends the backend itself."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.db import make_engine
from servicekit.settings import DbSettings
from support.stack import Stack


def engine_for(stack: Stack, ping_after_idle_s: float) -> AsyncEngine:
    return make_engine(DbSettings(url=stack.infra.sqlalchemy_url(stack.database), pool_size=1,
                                  ping_after_idle_s=ping_after_idle_s))


async def backend(engine: AsyncEngine) -> int:
    """The server process behind the connection a transaction checks out of the pool."""
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def ended_by_the_server(stack: Stack, pid: int) -> None:
    """As a restart would: the server ends the backend and closes its socket; wait until it is gone."""
    assert (await stack.fetch("SELECT pg_terminate_backend($1)", pid))[0][0] is True
    for _ in range(100):
        if not await stack.fetch("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


async def test_an_idle_connection_the_server_ended_is_replaced_at_checkout(stack: Stack) -> None:
    engine = engine_for(stack, ping_after_idle_s=0.05)
    try:
        first = await backend(engine)
        await ended_by_the_server(stack, first)
        await asyncio.sleep(0.1)  # idle past the ping threshold
        second = await backend(engine)  # no error: the ping failed, the pool connected afresh
        assert second != first
        assert await backend(engine) == second  # and keeps the new one
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_so_a_drop_fails_one_statement(stack: Stack) -> None:
    engine = engine_for(stack, ping_after_idle_s=3600)
    try:
        first = await backend(engine)
        await ended_by_the_server(stack, first)
        with pytest.raises(exc.DBAPIError):
            await backend(engine)
        assert await backend(engine) != first  # the failed one was dropped: the next transaction has a new one
    finally:
        await engine.dispose()
