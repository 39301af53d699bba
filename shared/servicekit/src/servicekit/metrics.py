"""The platform's own signals: Prometheus metrics of one process, API or worker (docs/observability.md).

Every process has its own registry (never the library's global one, so a test may build many apps in one process);
its `/metrics` answers the Prometheus text format. Counters are kept as things happen (requests, records, publishes);
what lives in the database (the outbox backlog, each service's domain gauges) is read at scrape time by collectors,
each a small query with a timeout, whose failure leaves its metrics out of that scrape and is counted.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.memory import GcCollector, record_pauses

if TYPE_CHECKING:
    from servicekit.worker import Worker

log = logging.getLogger(__name__)
PREFIX = "platform_"
METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus reads
COLLECT_TIMEOUT_S = 2.0
UNMATCHED = "<unmatched>"  # the route of a request no route took (a 404): never the raw path
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Reading:
    """One sample a collector read: `name` without the prefix (nor `_total`: a counter gets it)."""

    name: str
    documentation: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    kind: Literal["gauge", "counter"] = "gauge"


# A collector run at scrape time on a connection to the service's database (a cheap query on its own schema)
DomainCollector = Callable[[AsyncConnection], Awaitable[Iterable[Reading]]]


class ProcessMetrics:
    """The registry of one process and what it reads at scrape time."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(GcCollector(record_pauses(), f"{PREFIX}gc_pause_seconds"))
        self._info = Gauge(f"{PREFIX}process_info", "The service and role of this process (always 1)",
                           ["service", "role"], registry=self.registry)
        self.collector_errors = Counter(f"{PREFIX}metrics_collector_errors",
                                        "Scrape-time collectors that failed or timed out, by collector",
                                        ["collector"], registry=self.registry)
        self._counters: dict[str, Counter] = {}
        self._engine: AsyncEngine | None = None
        self._collectors: list[tuple[str, DomainCollector]] = []
        self._readings: list[Reading] = []
        self.registry.register(_ReadingsCollector(self))

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """A counter a handler or a route increments (`name` without the prefix), created once per process."""
        if name not in self._counters:
            self._counters[name] = Counter(f"{PREFIX}{name}", documentation, list(labelnames),
                                           registry=self.registry)
        return self._counters[name]

    def read_from(self, service: str, engine: AsyncEngine, collectors: Iterable[DomainCollector]) -> None:
        """Name the service, and run each collector on its `engine` at every scrape."""
        self._info.clear()
        self._info.labels(service, self.role).set(1)
        self._engine = engine
        self._collectors = [(getattr(c, "__name__", "collector"), c) for c in collectors]

    async def refresh(self) -> None:
        """Run the collectors, each with a timeout; one that fails is left out of this scrape and counted."""
        readings: list[Reading] = []
        for name, collector in self._collectors if self._engine is not None else []:
            try:
                readings += await asyncio.wait_for(self._collect(collector), timeout=COLLECT_TIMEOUT_S)
            except Exception as exc:
                log.warning("metrics collector %s: %s: %s", name, type(exc).__name__, exc)
                self.collector_errors.labels(name).inc()
        self._readings = readings

    async def _collect(self, collector: DomainCollector) -> list[Reading]:
        assert self._engine is not None
        async with self._engine.connect() as conn:
            await conn.execute(text(f"SET LOCAL statement_timeout = {int(COLLECT_TIMEOUT_S * 1000)}"))
            return list(await collector(conn))

    async def exposition(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)


class _ReadingsCollector(Collector):
    """What the scrape-time collectors read last, as metric families."""

    def __init__(self, metrics: ProcessMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        by_name: dict[str, list[Reading]] = defaultdict(list)
        for reading in self._metrics._readings:
            by_name[reading.name].append(reading)
        for name, readings in by_name.items():
            first = readings[0]
            family_type = CounterMetricFamily if first.kind == "counter" else GaugeMetricFamily
            family = family_type(f"{PREFIX}{name}", first.documentation, labels=sorted(first.labels))
            for reading in readings:
                family.add_metric([reading.labels[k] for k in sorted(first.labels)], reading.value)
            yield family


def outbox_collector(table: Table) -> DomainCollector:
    """The outbox's unpublished rows, and the age of the oldest by the database's clock (0 when none)."""
    unpublished = table.c.published_at.is_(None)
    oldest = select(table.c.created_at).where(unpublished).order_by(table.c.seq).limit(1).scalar_subquery()
    query = select(select(func.count()).select_from(table).where(unpublished).scalar_subquery(),
                   func.coalesce(func.extract("epoch", func.now() - oldest), 0))

    async def outbox(conn: AsyncConnection) -> list[Reading]:
        backlog, age = (await conn.execute(query)).one()
        return [Reading("outbox_backlog", "Outbox rows not yet published", float(backlog)),
                Reading("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0: none)",
                        max(0.0, float(age)))]

    return outbox


# -- the API: requests per route ------------------------------------------------------------------------------------

class RequestMetrics:
    """ASGI middleware: each request counted and timed by method, route template and status class. `/metrics`
    itself is not counted."""

    def __init__(self, app: ASGIApp, metrics: ProcessMetrics) -> None:
        self.app = app
        labels = ["method", "route", "status"]
        self._requests = Counter(f"{PREFIX}http_requests", "HTTP requests answered", labels,
                                 registry=metrics.registry)
        self._duration = Histogram(f"{PREFIX}http_request_duration_seconds", "Time to answer an HTTP request",
                                   labels, registry=metrics.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            method = scope.get("method", "")
            labels = (method if method in METHODS else "other", _route(scope), f"{status // 100}xx")
            self._requests.labels(*labels).inc()
            self._duration.labels(*labels).observe(time.perf_counter() - started)


def _route(scope: Scope) -> str:
    """The template of the route that took the request (`/applications/{application_id}`), as the router left it."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


# -- the worker: its consumer and relay -----------------------------------------------------------------------------

class WorkerCollector(Collector):
    """The worker's counters and lag, read from its consumer and relay at scrape time."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    def collect(self) -> Iterator[Metric]:
        worker = self._worker
        yield _gauge("worker_ready", "1 while the worker is ready (its probe's /readyz)", float(worker.health.ready()))
        published = CounterMetricFamily(f"{PREFIX}outbox_published", "Outbox rows the relay published")
        published.add_metric([], worker.relay.published)
        yield published
        consumer = worker.consumer
        if consumer is None:
            return
        for name, documentation, counts in (
                ("consumer_messages_handled", "Records handled (committed) by topic", consumer.handled_by_topic),
                ("consumer_messages_failed", "Tries whose handler raised (outages aside), by topic",
                 consumer.failed_by_topic),
                ("consumer_dead_letters", "Records parked on <topic>.dlq, by source topic",
                 consumer.dead_lettered_by_topic)):
            family = CounterMetricFamily(f"{PREFIX}{name}", documentation, labels=["topic"])
            for topic in sorted({*consumer.topics, *counts}):
                family.add_metric([topic], counts.get(topic, 0))
            yield family
        lag = GaugeMetricFamily(f"{PREFIX}consumer_lag", "Records waiting: the high watermark less the consumer's "
                                                         "position, by topic and partition",
                                labels=["topic", "partition"])
        for (topic, partition), waiting in sorted(consumer.lag_by_partition.items()):
            lag.add_metric([topic, str(partition)], waiting)
        yield lag


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}{name}", documentation, value=value)


def metrics_of(app: Any) -> ProcessMetrics:
    """The API process's metrics (for a route that counts something of its own)."""
    metrics: ProcessMetrics = app.state.metrics
    return metrics
