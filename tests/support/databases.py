"""A fresh database per test, cloned from a template that has every service's migrations applied."""
from __future__ import annotations

import asyncio
import uuid
import warnings

import asyncpg

from servicekit.migrations import upgrade
from support.infra import Infra
from support.services import SERVICES


async def create_template(infra: Infra) -> str:
    name = f"tpl_{uuid.uuid4().hex[:10]}"
    await _admin(infra, f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(infra.dsn(name))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    finally:
        await conn.close()
    for service in SERVICES.values():
        if not any(service.migrations.glob("versions/*.py")):
            continue  # nothing to migrate yet
        await asyncio.to_thread(upgrade, service.migrations, infra.sqlalchemy_url(name))
    return name


async def clone(infra: Infra, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _admin(infra, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


async def drop(infra: Infra, name: str) -> None:
    """Drop a test's database; a leftover one is only clutter, so a refusal is retried, then reported."""
    for attempt in range(3):
        try:
            await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.PostgresError as exc:
            if attempt == 2:
                warnings.warn(f"database {name} not dropped: {exc}", stacklevel=1)
            await asyncio.sleep(0.5)


async def _admin(infra: Infra, sql: str) -> None:
    conn = await asyncpg.connect(infra.dsn("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
