"""Health and readiness: the process is alive; its database, Kafka and workers answer."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.kafka import make_admin
from servicekit.settings import KafkaSettings, WorkerSettings

log = logging.getLogger(__name__)
MAX_WORKERS_SHOWN = 50


class KafkaProbe:
    """Answers whether the broker is reachable, reusing one admin client while it works."""

    def __init__(self, settings: KafkaSettings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._admin: Any = None

    async def ok(self) -> bool:
        try:
            if self._admin is None:
                admin = make_admin(self._settings, client_id=self._client_id)
                await asyncio.wait_for(admin.start(), timeout=3)
                self._admin = admin
            await asyncio.wait_for(self._admin.list_topics(), timeout=3)
            return True
        except Exception as exc:
            log.warning("kafka not ready: %s", exc)
            await self.close()
            return False

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception as exc:
                log.debug("closing admin client: %s", exc)


class WorkerCheck:
    """Reads the workers' heartbeats: the service is ready only while a worker beat recently and said it works."""

    def __init__(self, engine: AsyncEngine, table: Table, settings: WorkerSettings) -> None:
        self._engine = engine
        self._table = table
        self._settings = settings

    async def workers(self) -> list[dict[str, Any]] | None:
        """The workers heard from within `stale_after_s`, by the database's clock; None when it cannot answer."""
        t = self._table
        recent = t.c.beat_at > func.now() - timedelta(seconds=self._settings.stale_after_s)
        query = (select(t.c.worker_id, t.c.working, t.c.state["lag"].label("lag"),
                        t.c.state["dead_lettered"].label("dead_lettered"), t.c.state["problems"].label("problems"))
                 .where(recent).order_by(t.c.worker_id).limit(MAX_WORKERS_SHOWN))
        try:
            async with self._engine.connect() as conn:
                rows = (await asyncio.wait_for(conn.execute(query), timeout=3)).all()
        except Exception as exc:
            log.warning("worker heartbeats unreadable: %s", exc)
            return None
        return [dict(row._mapping) for row in rows]


def health_router(engine: AsyncEngine, kafka: KafkaProbe, workers: WorkerCheck | None = None) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database and Kafka are reachable and a worker of the service works",
                responses={503: {"description": "A dependency is unreachable, or no worker works"}})
    async def readyz() -> JSONResponse:
        checks: dict[str, bool] = {"database": await _db_ok(engine), "kafka": await kafka.ok()}
        body: dict[str, Any] = {}
        if workers is not None:
            found = await workers.workers()
            checks["workers"] = any(w["working"] for w in found or [])
            body["workers"] = found or []
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"status": "ok" if status == 200 else "unavailable", "checks": checks, **body}, status)

    return router


async def _db_ok(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=3)
        return True
    except Exception as exc:
        log.warning("database not ready: %s", exc)
        return False
