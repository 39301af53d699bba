"""Alembic, the same in every service: the version table lives inside the service's own schema."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.db import service_metadata
from servicekit.tables import messaging_tables


def alembic_config(migrations_dir: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Synchronous: call it from a thread inside a running loop."""
    command.upgrade(alembic_config(migrations_dir, url), revision)


def run_env(metadata: MetaData, schema: str, default_url: str | None = None) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url") or default_url
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or the service's DB__URL variable")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, version_table_schema=schema,
                          include_schemas=True, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata, schema))


async def _run_online(url: str, metadata: MetaData, schema: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            # a service role owns its schema but may not create schemas: look before creating
            exists = await conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"),
                                       {"schema": schema})
            if not exists:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                await conn.commit()
            await conn.run_sync(_configure_and_run, metadata, schema)
            await conn.commit()
    finally:
        await engine.dispose()


def _configure_and_run(conn: Connection, metadata: MetaData, schema: str) -> None:
    context.configure(connection=conn, target_metadata=metadata, version_table_schema=schema,
                      include_schemas=True,
                      include_name=lambda name, kind, _: kind != "schema" or name == schema)
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables(op: Operations, schema: str) -> None:
    """Create the outbox and inbox in a migration, from the one definition in servicekit.tables."""
    tables = messaging_tables(service_metadata(schema))
    bind = op.get_bind()
    for table in (tables.outbox, tables.inbox):
        table.create(bind)


def drop_messaging_tables(op: Operations, schema: str) -> None:
    tables = messaging_tables(service_metadata(schema))
    bind = op.get_bind()
    for table in (tables.inbox, tables.outbox):
        table.drop(bind)


def create_worker_heartbeat_table(op: Operations, schema: str) -> None:
    """The workers' heartbeat table, from the one definition in servicekit.tables."""
    messaging_tables(service_metadata(schema)).worker_heartbeat.create(op.get_bind())


def drop_worker_heartbeat_table(op: Operations, schema: str) -> None:
    messaging_tables(service_metadata(schema)).worker_heartbeat.drop(op.get_bind())


def add_outbox_trace_columns(op: Operations, schema: str) -> None:
    """The outbox's `traceparent` and `tracestate` (servicekit.tables). A schema whose first migration created the
    outbox from the current definition already has them: only what is missing is added."""
    for column in ("traceparent", "tracestate"):
        op.execute(f'ALTER TABLE "{schema}".outbox ADD COLUMN IF NOT EXISTS {column} text')


def drop_outbox_trace_columns(op: Operations, schema: str) -> None:
    for column in ("traceparent", "tracestate"):
        op.execute(f'ALTER TABLE "{schema}".outbox DROP COLUMN IF EXISTS {column}')


def outbox_data_as_json(op: Operations, schema: str) -> None:
    """The outbox keeps an event's envelope in columns and its data as `json` (servicekit.tables): `occurred_at`
    taken out of the `jsonb` payload, with `id` and `type` (already `event_id` and `type`), and the rest kept as the
    relay will send it. Rows waiting when this runs are sent with their data as PostgreSQL writes `jsonb` (a space
    after each `:` and `,`): the same JSON. An outbox made from the current definition has the shape already."""
    op.execute(f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM information_schema.columns
                           WHERE table_schema = '{schema}' AND table_name = 'outbox' AND column_name = 'occurred_at')
            THEN
                ALTER TABLE "{schema}".outbox ADD COLUMN occurred_at text;
                UPDATE "{schema}".outbox
                   SET occurred_at = payload->>'occurred_at', payload = payload - '{{id,type,occurred_at}}'::text[];
                ALTER TABLE "{schema}".outbox ALTER COLUMN occurred_at SET NOT NULL,
                                              ALTER COLUMN payload TYPE json USING payload::json;
            END IF;
        END $$""")


def outbox_data_as_jsonb(op: Operations, schema: str) -> None:
    """`outbox_data_as_json` undone: the whole event in a `jsonb` payload again."""
    op.execute(f'ALTER TABLE "{schema}".outbox ALTER COLUMN payload TYPE jsonb USING payload::jsonb')
    op.execute(f"""UPDATE "{schema}".outbox SET payload = payload
                       || jsonb_build_object('id', event_id, 'type', type, 'occurred_at', occurred_at)""")
    op.execute(f'ALTER TABLE "{schema}".outbox DROP COLUMN occurred_at')


def heartbeat_working_column(op: Operations, schema: str) -> None:
    """The heartbeat's `working` column, which an earlier definition named `ready`: a schema whose heartbeat table
    was made then gets it renamed; one made since has it already."""
    op.execute(f"""
        DO $$ BEGIN
            IF EXISTS (SELECT FROM information_schema.columns
                       WHERE table_schema = '{schema}' AND table_name = 'worker_heartbeat' AND column_name = 'ready')
            THEN ALTER TABLE "{schema}".worker_heartbeat RENAME COLUMN ready TO working;
            END IF;
        END $$""")
