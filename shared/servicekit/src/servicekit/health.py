"""Health and readiness: the process is alive; its database, Kafka and workers answer."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.kafka import make_admin
from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)


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


def health_router(engine: AsyncEngine, kafka: KafkaProbe) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database and Kafka are reachable",
                responses={503: {"description": "A dependency is unreachable"}})
    async def readyz() -> JSONResponse:
        checks = {"database": await _db_ok(engine), "kafka": await kafka.ok()}
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"status": "ok" if status == 200 else "unavailable", "checks": checks}, status)

    return router


async def _db_ok(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=3)
        return True
    except Exception as exc:
        log.warning("database not ready: %s", exc)
        return False
