"""The async engine and session factory: created by bootstrap, never at import time."""
from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import MetaData, event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from servicekit.settings import DbSettings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Every table of a service lives in the schema named after it."""
    return MetaData(schema=schema, naming_convention=NAMING)


def make_engine(settings: DbSettings) -> AsyncEngine:
    named = {"server_settings": {"application_name": settings.application_name}} if settings.application_name else {}
    engine = create_async_engine(settings.url, pool_size=settings.pool_size, max_overflow=settings.pool_size,
                                 pool_timeout=settings.pool_timeout_s,
                                 echo=settings.echo, json_serializer=_json_text, json_deserializer=orjson.loads,
                                 connect_args=named)
    _ping_after_idle(engine, settings.ping_after_idle_s)
    return engine


def _json_text(value: Any) -> str:
    """JSON and JSONB parameters, written by orjson (several times faster than the standard library's)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _ping_after_idle(engine: AsyncEngine, idle_s: float) -> None:
    """A pooled connection idle for `idle_s` is pinged when checked out, and replaced if the ping fails (a
    restarted or failed-over database); one in steady use is not. SQLAlchemy's pool_pre_ping would ping at every
    checkout: three round trips (BEGIN, a query, ROLLBACK under asyncpg) before each transaction's own. A connection
    that breaks while in use still fails its statement once, and SQLAlchemy then drops every older connection."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:  # the pool invalidates this connection and checks out another (3 tries)
            raise exc.DisconnectionError(str(error)) from error

