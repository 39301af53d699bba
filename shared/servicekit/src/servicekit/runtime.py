"""Wiring shared by every service: engine, unit of work, bus, relay, consumer; the API app and the worker."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import topics
from servicekit.bus import Handlers, MessageBus, Prepare, inject
from servicekit.clock import Clock, utcnow
from servicekit.consumer import EventConsumer
from servicekit.db import make_engine
from servicekit.health import KafkaProbe, WorkerCheck, health_router
from servicekit.heartbeat import Heartbeat, Probe
from servicekit.http import DomainErrors, UnhandledErrors, document_problems, install_error_handlers
from servicekit.kafka import ensure_topics
from servicekit.limits import BodyLimitMiddleware
from servicekit.liveness import WorkerHealth
from servicekit.metrics import (
    CONTENT_TYPE,
    METRICS_PATH,
    DomainCollector,
    ProcessMetrics,
    RequestMetrics,
    WorkerCollector,
    outbox_collector,
)
from servicekit.ratelimit import RateLimitMiddleware, rate_limited
from servicekit.relay import OutboxRelay
from servicekit.settings import ServiceSettings
from servicekit.tables import MessagingTables
from servicekit.tracing import TracingMiddleware, install_tracer_provider
from servicekit.uow import SqlUnitOfWork
from servicekit.worker import Job, Translations, Worker, batch_handler, event_handlers

log = logging.getLogger(__name__)
U = TypeVar("U", bound=SqlUnitOfWork)


@dataclass
class Runtime(Generic[U]):
    settings: ServiceSettings
    engine: AsyncEngine
    bus: MessageBus
    uow_factory: Callable[[], U]
    tables: MessagingTables
    clock: Clock = utcnow
    collectors: Sequence[DomainCollector] = ()  # the service's domain metrics, read at scrape time

    async def aclose(self) -> None:
        await self.engine.dispose()


def build_runtime(settings: ServiceSettings, tables: MessagingTables, uow_class: type[U],
                  handlers: Handlers, *, clock: Clock = utcnow, collectors: Sequence[DomainCollector] = (),
                  **dependencies: Any) -> Runtime[U]:
    """`clock` and the other `dependencies` (a policy) reach the handlers that name them as parameters;
    `collectors` are the service's domain metrics (servicekit.metrics), served by its API and worker alike."""
    install_tracer_provider(settings.service_name)  # spans with real ids: the trace goes on through the outbox
    engine = make_engine(settings.db)

    def uow_factory() -> U:
        return uow_class(engine, tables, consumer=settings.service_name,
                         topic_prefix=settings.kafka.topic_prefix)

    bus = MessageBus(uow_factory, inject(handlers, clock=clock, **dependencies))
    return Runtime(settings, engine, bus, uow_factory, tables, clock, tuple(collectors))


def build_api(runtime_factory: Callable[[], Runtime[Any]], *, title: str, description: str,
              routers: Sequence[APIRouter], domain_errors: DomainErrors) -> FastAPI:
    """The FastAPI app of a service: its runtime lives for the app's lifespan, on app.state.runtime. Besides the
    service's routers it serves the operators' re-drive of a parked record (servicekit.redrive_api), which wants the
    access tokens checked: the service's create_app calls install_auth."""
    # imported here, not above: it needs servicekit.auth, whose token routes import this module
    from servicekit.redrive_api import REDRIVE_ERRORS, dead_letters

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory()
        probe = KafkaProbe(runtime.settings.kafka, client_id=f"{runtime.settings.service_name}-api")
        app.state.runtime = runtime
        metrics.read_from(runtime.settings.service_name, runtime.engine, _collectors(runtime))
        workers = None
        if runtime.settings.worker.require_for_readiness:
            workers = WorkerCheck(runtime.engine, runtime.tables.worker_heartbeat, runtime.settings.worker)
        app.include_router(health_router(runtime.engine, probe, workers))
        try:
            yield
        finally:
            await probe.close()
            await runtime.aclose()

    # the request's span, metrics and log lines are servicekit's (TracingMiddleware, RequestMetrics, logs):
    # FastAPI's own would time every request again, in a second server span beside ours
    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    metrics = app.state.metrics = ProcessMetrics("api")

    async def prometheus_metrics() -> Response:  # open to the scraper, like the probes; not in the OpenAPI
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE)

    app.add_api_route(METRICS_PATH, prometheus_metrics, methods=["GET"], include_in_schema=False)
    for router in [*routers, dead_letters]:
        app.include_router(router)
    install_error_handlers(app, {**REDRIVE_ERRORS, **domain_errors})
    # outermost last: an unexpected error is answered whatever raised it; a client over its rate is refused
    # before its body is read
    app.add_middleware(BodyLimitMiddleware, settings=lambda: runtime_of(app).settings.http)
    app.add_middleware(RateLimitMiddleware, settings=lambda: runtime_of(app).settings.rate_limit)
    app.add_middleware(UnhandledErrors, retry_after_s=lambda: runtime_of(app).settings.http.retry_after_s)
    app.add_middleware(TracingMiddleware)  # the request's trace, around everything that may log or write events
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: every answer counted, refusals included
    document_problems(app, rate_limited=rate_limited)
    return app


def build_worker(runtime: Runtime[Any], translations: Translations,
                 jobs: Sequence[Job] = (), *, combine: Callable[[list[Any]], object] | None = None,
                 prepare: Prepare | None = None) -> Worker:
    """The service's worker. The events one poll returns are handled in one transaction (partition after partition,
    their commands one by one in order, after `prepare`, or with `combine` as one batch command), and one by one, a
    transaction each, only when that fails (docs/messaging.md); WORKER__BATCH=false handles every event alone."""
    settings = runtime.settings
    relay = OutboxRelay(runtime.engine, runtime.tables, settings.kafka, settings.outbox,
                        source=settings.source, client_id=f"{settings.service_name}-relay")
    consumer = None
    if translations:
        consumer = EventConsumer(settings.kafka, group_id=settings.service_name,
                                 handlers=event_handlers(runtime.bus, translations),
                                 max_backoff_s=settings.outbox.max_backoff_s, worker=settings.worker,
                                 batch=batch_handler(runtime.bus, translations, combine, prepare)
                                 if combine is not None or settings.worker.batch else None)
    worker = Worker(relay=relay, consumer=consumer, jobs=list(jobs), health=WorkerHealth(settings.worker))
    heartbeat = Heartbeat(runtime.engine, runtime.tables.worker_heartbeat, settings.worker, worker.state)
    metrics = worker.metrics = ProcessMetrics("worker")
    metrics.read_from(settings.service_name, runtime.engine, _collectors(runtime))
    metrics.registry.register(WorkerCollector(worker))
    probe = Probe(settings.worker, alive=worker.health.alive, ready=worker.health.ready, state=worker.state,
                  metrics=metrics.exposition, metrics_type=CONTENT_TYPE)
    worker.services = [heartbeat.run, probe.run]
    return worker


def _collectors(runtime: Runtime[Any]) -> list[DomainCollector]:
    """What a scrape reads from the service's database: its outbox, and the service's own domain metrics."""
    return [outbox_collector(runtime.tables.outbox), *runtime.collectors]


async def prepare_topics(settings: ServiceSettings) -> None:
    """Every topic and its dead-letter topic, so that consumers never wait on auto-creation."""
    names = [settings.kafka.topic(t) for t in topics.ALL]
    names += [topics.dead_letter(n) for n in names]
    await ensure_topics(settings.kafka, names, client_id=f"{settings.service_name}-admin")


def runtime_of(app: Any) -> Runtime[Any]:
    runtime: Runtime[Any] = app.state.runtime
    return runtime


# What a route reaches, typed, as FastAPI dependencies: the bus (`bus: Bus`), the clock (`now: Now`), and a unit of
# work for reads (each service's `Uow = Annotated[SqlXUnitOfWork, Depends(unit_of_work(SqlXUnitOfWork))]`).

# async, so that FastAPI calls them on the event loop rather than in its thread pool (a thread hop per request)
async def message_bus(request: Request) -> MessageBus:
    return runtime_of(request.app).bus


async def clock_of(request: Request) -> Clock:
    return runtime_of(request.app).clock


Bus = Annotated[MessageBus, Depends(message_bus)]
Now = Annotated[Clock, Depends(clock_of)]


def unit_of_work(uow_class: type[U]) -> Callable[[Request], AsyncIterator[U]]:
    """A dependency that opens the service's unit of work for the request (for reads; writes go through the bus)
    and closes it, rolled back, when the route is done."""

    async def open_unit_of_work(request: Request) -> AsyncIterator[U]:
        uow: U
        async with runtime_of(request.app).uow_factory() as uow:
            yield uow

    return open_unit_of_work
