"""The async engine and session factory: created by bootstrap, never at import time."""
from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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
    return create_async_engine(
        settings.url, pool_size=settings.pool_size, max_overflow=settings.pool_size,
        pool_pre_ping=True, echo=settings.echo,
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
