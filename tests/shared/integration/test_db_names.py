"""A process's connections carry its name to PostgreSQL: pg_stat_activity (and the server's log, with
log_connections) say which service and role holds or opened each. On the real PostgreSQL."""
from __future__ import annotations

from sqlalchemy import text

from servicekit.db import make_engine
from servicekit.settings import DbSettings
from support.stack import Stack


async def test_the_server_sees_each_connection_under_its_processs_name(stack: Stack) -> None:
    url = stack.infra.sqlalchemy_url(stack.database)
    named, unnamed = make_engine(DbSettings(url=url, application_name="intake-api")), make_engine(DbSettings(url=url))
    try:
        async with named.connect() as conn, unnamed.connect() as other:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            other_pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            seen = dict((r[0], r[1]) for r in await stack.fetch(
                "SELECT pid, application_name FROM pg_stat_activity WHERE pid = ANY($1::int[])", [pid, other_pid]))
        assert seen == {pid: "intake-api", other_pid: ""}
    finally:
        await named.dispose()
        await unnamed.dispose()
