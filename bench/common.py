"""What every benchmark shares: the local stack's addresses, a scratch database, timing and reporting."""
from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from servicekit.kafka import delete_topics_with_prefix
from servicekit.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]


def local_env() -> dict[str, str]:
    values: dict[str, str] = {}
    env_file = REPO / ".local" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            if value:
                values[key.strip()] = value.strip().strip("'\"")
    values.update({k: v for k, v in os.environ.items() if k.startswith(("KAFKA_", "PG_"))})
    return values


ENV = local_env()
KAFKA = ENV.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
PG = f"postgresql://platform:platform@{ENV.get('PG_HOST', '127.0.0.1')}:{ENV.get('PG_PORT', '15432')}"


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A new empty database for one benchmark; yields its SQLAlchemy URL and drops it afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def scratch_topics() -> AsyncIterator[str]:
    """A fresh topic prefix for one benchmark; every topic under it is deleted afterwards. Left behind, a run's
    topics stay on the broker (about 60 partitions a pipeline run): a development broker that has seen a hundred
    runs carries thousands of partitions, each a directory, files and a line in every checkpoint."""
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    try:
        yield prefix
    finally:
        await delete_topics_with_prefix(KafkaSettings(bootstrap_servers=KAFKA), prefix, client_id="bench-cleanup")


@dataclass
class Result:
    name: str
    unit: str
    samples: list[float]
    details: dict[str, Any] = field(default_factory=dict)  # figures beside the timing, kept in latest.json

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


async def repeat(runs: int, once: Callable[[], Awaitable[float]]) -> list[float]:
    return [await once() for _ in range(runs)]


def clock() -> float:
    return time.perf_counter()
