"""The database itself refuses one GPU in two overlapping allocations, whatever code writes the rows."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from asyncpg import Range

from support.stack import Stack

DEC, JAN, FEB = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
                 datetime(2027, 2, 1, tzinfo=UTC))


async def an_allocation(conn: asyncpg.Connection, starts_at: datetime, ends_at: datetime) -> uuid.UUID:
    allocation_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO allocation.allocation (id, application_id, program, gpu_model, gpus, starts_at, ends_at,"
        " status) VALUES ($1, $2, 'P3', 'H100', 1, $3, $4, 'active')",
        allocation_id, uuid.uuid4(), starts_at, ends_at)
    return allocation_id


async def test_the_database_refuses_a_second_overlapping_allocation_of_the_same_gpu(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.db_dsn)
    try:
        csp_id, server_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute("INSERT INTO allocation.csp (id, name) VALUES ($1, 'gamma-cloud')", csp_id)
        await conn.execute("INSERT INTO allocation.server (id, csp_id, name, region, gpu_model, pool)"
                           " VALUES ($1, $2, 'p3-gov-01', 'Gwangju', 'H100', 'P3')", server_id, csp_id)
        insert_gpu = "INSERT INTO allocation.allocation_gpu VALUES ($1, $2, $3, $4)"
        await conn.execute(insert_gpu, await an_allocation(conn, DEC, FEB), server_id, 0, Range(DEC, FEB))
        overlapping = await an_allocation(conn, JAN, FEB)

        with pytest.raises(asyncpg.ExclusionViolationError):
            await conn.execute(insert_gpu, overlapping, server_id, 0, Range(JAN, FEB))
        await conn.execute(insert_gpu, overlapping, server_id, 1, Range(JAN, FEB))  # another GPU is fine
        back_to_back = await an_allocation(conn, FEB, datetime(2027, 3, 1, tzinfo=UTC))
        await conn.execute(insert_gpu, back_to_back, server_id, 0, Range(FEB, datetime(2027, 3, 1, tzinfo=UTC)))
        rows = await conn.fetchval("SELECT count(*) FROM allocation.allocation_gpu WHERE gpu_index = 0")
    finally:
        await conn.close()
    assert rows == 2
