"""What a worker tells the world about itself: a heartbeat row for the API's readiness, and an HTTP probe port.

The probe is a few lines of asyncio rather than a second web framework in the worker: it answers `GET /healthz`
(alive) and `GET /readyz` (ready) with the worker's state as JSON, 200 or 503, and nothing else.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.retry import sleep_or_stop
from servicekit.settings import WorkerSettings

log = logging.getLogger(__name__)
State = Callable[[], dict[str, Any]]
FORGET_AFTER = timedelta(days=1)  # rows of workers gone this long are deleted by the others


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Heartbeat:
    def __init__(self, engine: AsyncEngine, table: Table, settings: WorkerSettings, state: State) -> None:
        self._engine = engine
        self._table = table
        self._settings = settings
        self._state = state
        self.worker_id = worker_id()
        self.beats = 0

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.beat()
                except Exception as exc:  # the database is away: the API is not ready then anyway
                    log.warning("heartbeat: %s", exc)
                await sleep_or_stop(stop, self._settings.heartbeat_interval_s)
        finally:
            await self._forget_me()

    async def beat(self) -> None:
        state = self._state()
        row = {"worker_id": self.worker_id, "started_at": func.now(), "beat_at": func.now(),
               "working": bool(state.get("working")), "state": state}
        statement = insert(self._table).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[self._table.c.worker_id],
            set_={"beat_at": statement.excluded.beat_at, "working": statement.excluded.working,
                  "state": statement.excluded.state})
        async with self._engine.begin() as conn:
            await conn.execute(statement)
            if self.beats % 100 == 0:
                await conn.execute(delete(self._table).where(self._table.c.beat_at < func.now() - FORGET_AFTER))
        self.beats += 1

    async def _forget_me(self) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(self._table).where(self._table.c.worker_id == self.worker_id))
        except Exception as exc:
            log.debug("heartbeat row left behind: %s", exc)


class Probe:
    """The worker's /healthz and /readyz on its own port, for process supervisors and Kubernetes."""

    def __init__(self, settings: WorkerSettings, *, alive: Callable[[], bool], ready: Callable[[], bool],
                 state: State, metrics: Callable[[], Awaitable[bytes]] | None = None,
                 metrics_type: str = "text/plain") -> None:
        self._settings = settings
        self._alive, self._ready, self._state = alive, ready, state
        self._metrics, self._metrics_type = metrics, metrics_type  # GET /metrics: the Prometheus exposition
        self.port: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        if not self._settings.health_port:
            return
        server = await asyncio.start_server(self._answer, self._settings.health_host, self._settings.health_port)
        self.port = server.sockets[0].getsockname()[1]
        log.info("worker probe on %s:%s", self._settings.health_host, self.port)
        async with server:
            await stop.wait()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 and parts[0] in ("GET", "HEAD") else ""
            status, content_type, payload = await self._respond(path)
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}"
                         f"\r\nConnection: close\r\n\r\n".encode() + (payload if parts[:1] != ["HEAD"] else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError) as exc:
            log.debug("probe request dropped: %s", exc)
        finally:
            writer.close()

    async def _respond(self, path: str) -> tuple[str, str, bytes]:
        if path == "/metrics" and self._metrics is not None:
            return "200 OK", self._metrics_type, await self._metrics()
        check = {"/healthz": self._alive, "/readyz": self._ready}.get(path)
        if check is None:
            status, body = "404 Not Found", {"status": "not found"}
        else:
            ok = check()
            status = "200 OK" if ok else "503 Service Unavailable"
            body = {"status": "ok" if ok else "unavailable", **self._state()}
        return status, "application/json", json.dumps(body).encode()
