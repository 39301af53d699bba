"""Wiring shared by every service: engine, unit of work, bus, relay, consumer; the API app and the worker."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import Event, topics
from servicekit.bus import Handler, MessageBus, inject
from servicekit.consumer import EventConsumer
from servicekit.db import make_engine, make_session_factory
from servicekit.health import KafkaProbe, WorkerCheck, health_router
from servicekit.heartbeat import Heartbeat, Probe
from servicekit.http import UnhandledErrors, document_problems, install_error_handlers
from servicekit.kafka import ensure_topics
from servicekit.limits import BodyLimitMiddleware
from servicekit.liveness import WorkerHealth
from servicekit.ratelimit import RateLimitMiddleware, rate_limited
from servicekit.relay import OutboxRelay
from servicekit.settings import ServiceSettings
from servicekit.tables import MessagingTables
from servicekit.uow import SqlUnitOfWork
from servicekit.worker import Job, Translation, Worker, event_handlers

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: ServiceSettings
    engine: AsyncEngine
    bus: MessageBus
    uow_factory: Callable[[], SqlUnitOfWork]
    tables: MessagingTables

    async def aclose(self) -> None:
        await self.engine.dispose()


def build_runtime(settings: ServiceSettings, tables: MessagingTables, uow_class: type[SqlUnitOfWork],
                  handlers: Mapping[type, Handler], **dependencies: Any) -> Runtime:
    """`dependencies` (a policy, a clock) reach the handlers that name them as parameters."""
    engine = make_engine(settings.db)
    sessions = make_session_factory(engine)

    def uow_factory() -> SqlUnitOfWork:
        return uow_class(sessions, tables, consumer=settings.service_name,
                         topic_prefix=settings.kafka.topic_prefix)

    return Runtime(settings, engine, MessageBus(uow_factory, inject(handlers, **dependencies)), uow_factory, tables)


def build_api(runtime_factory: Callable[[], Runtime], *, title: str, description: str,
              routers: Sequence[APIRouter], domain_errors: Mapping[type[Exception], int]) -> FastAPI:
    """The FastAPI app of a service: its runtime lives for the app's lifespan, on app.state.runtime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory()
        probe = KafkaProbe(runtime.settings.kafka, client_id=f"{runtime.settings.service_name}-api")
        app.state.runtime = runtime
        workers = None
        if runtime.settings.worker.require_for_readiness:
            workers = WorkerCheck(runtime.engine, runtime.tables.worker_heartbeat, runtime.settings.worker)
        app.include_router(health_router(runtime.engine, probe, workers))
        try:
            yield
        finally:
            await probe.close()
            await runtime.aclose()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    for router in routers:
        app.include_router(router)
    install_error_handlers(app, domain_errors)
    # outermost last: an unexpected error is answered whatever raised it; a client over its rate is refused
    # before its body is read
    app.add_middleware(BodyLimitMiddleware, settings=lambda: runtime_of(app).settings.http)
    app.add_middleware(RateLimitMiddleware, settings=lambda: runtime_of(app).settings.rate_limit)
    app.add_middleware(UnhandledErrors, retry_after_s=lambda: runtime_of(app).settings.http.retry_after_s)
    document_problems(app, rate_limited=rate_limited)
    return app


def build_worker(runtime: Runtime, translations: Mapping[type[Event], Translation],
                 jobs: Sequence[Job] = ()) -> Worker:
    settings = runtime.settings
    relay = OutboxRelay(runtime.engine, runtime.tables, settings.kafka, settings.outbox,
                        source=settings.source, client_id=f"{settings.service_name}-relay")
    consumer = None
    if translations:
        consumer = EventConsumer(settings.kafka, group_id=settings.service_name,
                                 handlers=event_handlers(runtime.bus, translations),
                                 max_backoff_s=settings.outbox.max_backoff_s, worker=settings.worker)
    worker = Worker(relay=relay, consumer=consumer, jobs=list(jobs), health=WorkerHealth(settings.worker))
    heartbeat = Heartbeat(runtime.engine, runtime.tables.worker_heartbeat, settings.worker, worker.state)
    probe = Probe(settings.worker, alive=worker.health.alive, ready=worker.health.ready, state=worker.state)
    worker.services = [heartbeat.run, probe.run]
    return worker


async def prepare_topics(settings: ServiceSettings) -> None:
    """Every topic and its dead-letter topic, so that consumers never wait on auto-creation."""
    names = [settings.kafka.topic(t) for t in topics.ALL]
    names += [topics.dead_letter(n) for n in names]
    await ensure_topics(settings.kafka, names, client_id=f"{settings.service_name}-admin")


def runtime_of(app: Any) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime
