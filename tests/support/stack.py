"""One test's slice of the real infrastructure: its own database and topic prefix, services in-process."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx

from servicekit.clock import Clock, utcnow
from servicekit.runtime import prepare_topics
from support.infra import Infra
from support.services import SERVICES

T = TypeVar("T")


@dataclass
class Stack:
    infra: Infra
    database: str
    topic_prefix: str

    def settings(self, service: str, **overrides: Any) -> Any:
        return SERVICES[service].settings(self.infra, self.database, self.topic_prefix, **overrides)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def db_dsn(self) -> str:
        return self.infra.dsn(self.database)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of a query on the test's database, for tests that check what was (not) stored."""
        conn = await asyncpg.connect(self.db_dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def count(self, table: str) -> int:
        return int((await self.fetch(f"SELECT count(*) FROM {table}"))[0][0])

    @asynccontextmanager
    async def notifications(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        """Each NOTIFY on `channel` of the test's database (its channel's name), as it is delivered."""
        listener = await asyncpg.connect(self.db_dsn)
        heard: asyncio.Queue[str] = asyncio.Queue()
        await listener.add_listener(channel, lambda _conn, _pid, name, _payload: heard.put_nowait(name))
        try:
            yield heard
        finally:
            await listener.close()

    async def handle(self, service: str, *commands: object, clock: Clock = utcnow) -> None:
        """Run each command through the service's own message bus, in order, as its consumer would."""
        runtime = SERVICES[service].bootstrap(self.settings(service), clock=clock)
        try:
            for cmd in commands:
                await runtime.bus.handle(cmd, message_id=uuid.uuid4(), message_type="test")
        finally:
            await runtime.aclose()

    @asynccontextmanager
    async def api(self, service: str, *, clock: Clock = utcnow, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        """The service's real FastAPI app (lifespan included), called in-process over ASGI; `clock` is its "now"
        (a ManualClock moves it)."""
        app = SERVICES[service].create_app(self.settings(service, **overrides), clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
                yield client

    @asynccontextmanager
    async def worker(self, service: str, *, clock: Clock = utcnow, **overrides: Any) -> AsyncIterator[Any]:
        """The service's real worker (consumer + relay) running in the background until the block ends."""
        settings = self.settings(service, **overrides)
        await prepare_topics(settings)
        worker = SERVICES[service].create_worker(settings, clock=clock)
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop.set()
            await asyncio.wait_for(task, timeout=30)


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0,
                     interval: float = 0.1, what: str = "condition") -> T:
    """Poll until `probe` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: T | None = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def ok(request: Awaitable[httpx.Response], status: int = 200) -> Any:
    """The JSON body of an awaited request, which must answer `status`."""
    response = await request
    assert response.status_code == status, response.text
    return response.json()
