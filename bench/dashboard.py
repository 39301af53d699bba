"""The dashboard's two promises, measured on the real broker, database and browser.

dashboard_lag: "the dashboard keeps up with 1,000 events/s arriving on its topics (its lag stays bounded)".
  On a scratch database (the dashboard's migrations) and the platform's topics under a fresh prefix, the real worker
  (`dashboard.entrypoints.worker.create_worker`) runs as a process of its own, as deployed. Valid contract events
  (applications submitted, scored, allocated; hourly usage; utilization drops and reclaims: ten events per
  application, interleaved a hundred applications at a time, over four topics) are produced with `contracts.to_record`
  at BENCH_DASHBOARD_RATE events/s (1,000) for BENCH_DASHBOARD_SECONDS (20). Every SAMPLE_EVERY_S the consumer group's
  lag is read (end offsets less committed offsets); after the producer stops, the time until the lag is zero (at
  most BENCH_DASHBOARD_DRAIN_LIMIT_S, 150). The worker's throughput is its committed offsets' rate over 5-second
  windows from the first event produced until drained. The baseline, in the same run: a bare aiokafka consumer (the
  same consumer settings, commits per batch as the worker does; no decoding, no database) reading the same records
  from the start, as fast as it can.
  The worker's consumer group is named after a bench-only service name: tests running at the same time start
  `dashboard` group members on their own topics, and each one joining or leaving would rebalance (pause) ours.

dashboard_paint: "the page's first paint stays under a second with a million events in the read model".
  BENCH_DASHBOARD_EVENTS (1,000,000) events of BENCH_DASHBOARD_APPLICATIONS (100,000) applications over a year
  (P1/P2 in calls, P3 rolling; every stage of the funnel; the bulk hourly usage of the allocations), their funnel
  rows and the views' tables (profiles, allocations, rounds, the reclaim ladder) are loaded with asyncpg COPY, then
  VACUUM ANALYZE. The real API (`python -m dashboard api`: uvicorn, its own process) is driven by Debian's Chromium
  through Playwright, signed in by the session cookie (an operator's token minted with a fresh key pair): per load,
  a fresh browser context (no cache), first-contentful-paint and the page's "board-ready" mark (session, the 50
  newest events and the funnel shown; the views the page also asks for load beside them, and a load is over once
  they answered, so that the next one finds the server idle). Baseline, same browser, same run, loads interleaved: a
  bare FastAPI app serving the dashboard's HTML with its stylesheet inlined and no script. A third load each round,
  for the diagnosis, refuses the page's requests for its views in the browser: the board alone. Then each API call
  alone over HTTP (median of CALL_RUNS), and the plans (EXPLAIN ANALYZE) of the read model's statements, captured
  from the repositories themselves; full plans in .local/bench-dashboard/explain.txt.
  The per-client rate limit is off (one operator makes every request); the owning services the page also reads
  through the dashboard (`/upstream/...`) are not running: those calls fail fast (502), as the page tolerates.

`python -m bench.dashboard worker | bare-page` are the processes the benchmarks start, configured by environment.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import re
import signal
import socket
import statistics
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from bench.common import KAFKA, REPO, Result, clock, scratch_database, scratch_topics
from contracts import (
    Applicant,
    ApplicationRejected,
    ApplicationScored,
    ApplicationSubmitted,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    Event,
    GpuSlot,
    OfferMade,
    ResourceAllocated,
    ResourceReclaimed,
    RoundSelected,
    UsageRecorded,
    UtilizationDropped,
    to_record,
    topics,
)
from dashboard.adapters.repository import ApplicationRepository, EventFilter, EventRepository
from dashboard.adapters.repository_views import (
    AllocationRepository,
    LadderRepository,
    ProfileRepository,
    WaitlistRepository,
)
from dashboard.config import Settings
from dashboard.domain import views
from servicekit.auth import Principal, TokenIssuer, generate_keypair
from servicekit.kafka import ensure_topics, make_consumer, make_producer
from servicekit.migrations import upgrade
from servicekit.settings import AuthSettings, KafkaSettings


def _number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


MIGRATIONS = REPO / "services" / "dashboard" / "migrations"
SCRATCH = REPO / ".local" / "bench-dashboard"
SOURCE = "/gpu-platform/bench"
CSPS = ("gov", "kt", "naver", "nhn")
PROGRAMS = ("P1", "P2", "P3")

RATE = int(_number("BENCH_DASHBOARD_RATE", 1000))  # events/s offered
SECONDS = _number("BENCH_DASHBOARD_SECONDS", 20)  # how long they are offered
DRAIN_LIMIT_S = _number("BENCH_DASHBOARD_DRAIN_LIMIT_S", 150)
SAMPLE_EVERY_S = 0.5
WINDOW_S = 5.0
BASELINE_RUNS = 3
JOURNEY_BATCH = 100  # applications whose journeys are interleaved

EVENTS = int(_number("BENCH_DASHBOARD_EVENTS", 1_000_000))
APPLICATIONS = int(_number("BENCH_DASHBOARD_APPLICATIONS", 100_000))
LOADS = int(_number("BENCH_DASHBOARD_LOADS", 7))
CALL_RUNS = 11
SLOW_CALLS_MS = 3_000
CALLS_PER_PROGRAM = 8  # P1 and P2 rounds over the year; P3 is a rolling intake
COOKIE = "dashboard_session"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
WAIT_MS = 60_000


# --- shared: ports, child processes, topics ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Child:
    """A process a benchmark started, its output in .local/bench-dashboard/<name>.log."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path

    def check(self) -> None:
        if self.proc.returncode is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@asynccontextmanager
async def child(name: str, args: Sequence[str], env: dict[str, str]) -> AsyncIterator[Child]:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    log = SCRATCH / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(sys.executable, *args, env={**os.environ, **env}, stdout=out,
                                                    stderr=out, cwd=REPO)
    running = Child(name, proc, log)
    try:
        yield running
    finally:
        await running.stop()


async def answering(process: Child, url: str, timeout_s: float = 90) -> None:
    """Until `url` answers 200 (the process still running)."""
    deadline = clock() + timeout_s
    async with httpx.AsyncClient() as client:
        while clock() < deadline:
            process.check()
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{process.name} never answered 200 at {url}; see {process.log}")


@asynccontextmanager
async def bench_topics() -> AsyncIterator[KafkaSettings]:
    """The platform's topics and their dead-letter topics under a fresh prefix (deleted afterwards)."""
    async with scratch_topics() as prefix:
        kafka = KafkaSettings(bootstrap_servers=KAFKA, topic_prefix=prefix)
        names = [kafka.topic(t) for t in topics.ALL]
        await ensure_topics(kafka, [*names, *(topics.dead_letter(n) for n in names)], client_id="bench")
        yield kafka


def service_env(url: str, kafka: KafkaSettings, **more: str) -> dict[str, str]:
    """The dashboard's settings as its processes read them (DASHBOARD_<SECTION>__<KEY>)."""
    return {"DASHBOARD_DB__URL": url, "DASHBOARD_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "DASHBOARD_KAFKA__TOPIC_PREFIX": kafka.topic_prefix, **more}


def bench_settings(group: str) -> type[Settings]:
    """The dashboard's settings under another service name: its consumer groups are `group` and
    `group-dead-letters` instead of `dashboard` and `dashboard-dead-letters` (shared by every test's worker)."""

    class BenchSettings(Settings):
        service_name: ClassVar[str] = group

    return BenchSettings


# --- dashboard_lag: events at a steady rate, the consumer group's lag ----------------------------------------------

def journey(i: int, now: datetime) -> list[Event]:
    """An application's ten events over four topics: submitted, scored, allocated (8 GPUs), six hours of usage, then
    a utilization warning or a reclaim."""
    application_id, allocation_id = uuid.uuid4(), uuid.uuid4()
    program, csp, gpus = PROGRAMS[i % 3], CSPS[i % 4], 8
    period = {"gpus_requested": gpus, "gpu_model": "H100", "period_start": now.date(),
              "period_end": (now + timedelta(days=90)).date(), "planned_gpu_hours_per_month": 4000}
    windows = [(now - timedelta(hours=h + 1), now - timedelta(hours=h)) for h in range(6)]
    end: Event
    if i % 2:
        end = UtilizationDropped(application_id=application_id, allocation_id=allocation_id, level="warning",
                                 utilization_pct=21.5, threshold_pct=30.0, window_start=windows[-1][0],
                                 window_end=windows[0][1])
    else:
        end = ResourceReclaimed(application_id=application_id, allocation_id=allocation_id, gpus=gpus,
                                reason="low_utilization", reclaimed_at=now)
    return [
        ApplicationSubmitted(application_id=application_id, partner_id=uuid.uuid4(), program=program,
                             applicant=Applicant(name="Bench Lab", sector="academia", institution="KAIST",
                                                 region="Daejeon"),
                             purpose="fine-tuning a Korean LLM", **period),
        ApplicationScored(application_id=application_id, program=program, score=71.5, policy_version="2026.1",
                          institution="KAIST", region="Daejeon", **period),
        ResourceAllocated(application_id=application_id, allocation_id=allocation_id, program=program,
                          gpu_model="H100", gpus=gpus,
                          slots=[GpuSlot(server_id=uuid.uuid4(), server_name=f"{csp}-{i:05d}", csp=csp, gpu_index=g)
                                 for g in range(gpus)],
                          starts_at=now, ends_at=now + timedelta(days=90), planned_gpu_hours_per_month=4000),
        *(UsageRecorded(application_id=application_id, allocation_id=allocation_id, window_start=start,
                        window_end=stop, gpu_hours=7.2, utilization_pct=90.0) for start, stop in windows),
        end,
    ]


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes
    value: bytes
    headers: Any


def outgoing(kafka: KafkaSettings, n: int) -> list[Outgoing]:
    """n records, serialized as a service's outbox sends them, a hundred applications' journeys interleaved."""
    now = datetime.now(UTC)
    records: list[Outgoing] = []
    applications = -(-n // 10)
    for first in range(0, applications, JOURNEY_BATCH):
        journeys = [journey(i, now) for i in range(first, min(first + JOURNEY_BATCH, applications))]
        for step in range(10):
            for events in journeys:
                record = to_record(events[step], source=SOURCE)
                records.append(Outgoing(kafka.topic(events[step].topic), record.key, record.value, record.headers))
    return records[:n]


@dataclass(frozen=True)
class LagSample:
    at: float
    end: int  # records on the topics (end offsets)
    committed: int  # of those, committed by the worker's group

    @property
    def lag(self) -> int:
        return self.end - self.committed


class LagReader:
    """The group's lag on the benchmark's topics: end offsets (a consumer outside any group) less the offsets the
    group committed (the admin client)."""

    def __init__(self, kafka: KafkaSettings, group: str) -> None:
        self.group = group
        self.partitions = [TopicPartition(kafka.topic(t), p) for t in topics.ALL
                           for p in range(kafka.topic_partitions)]
        self._admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="bench-lag")
        self._ends = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, client_id="bench-lag",
                                      enable_auto_commit=False)

    async def __aenter__(self) -> LagReader:
        await self._admin.start()
        await self._ends.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ends.stop()
        await self._admin.close()

    async def sample(self) -> LagSample:
        at = clock()
        ends = await self._ends.end_offsets(self.partitions)
        committed = await self._admin.list_consumer_group_offsets(self.group, partitions=self.partitions)
        return LagSample(at, sum(ends.values()), sum(max(0, c.offset) for c in committed.values()))


async def produce_paced(kafka: KafkaSettings, records: Sequence[Outgoing], rate: int) -> tuple[float, float]:
    """The records at `rate` a second (each sent when due, 5 ms ticks); when the first and the last were sent."""
    producer = make_producer(kafka, client_id="bench-producer")
    await producer.start()
    try:
        sent, acks = 0, []
        start = clock()
        while sent < len(records):
            due = min(len(records), int((clock() - start) * rate) + 1)
            for r in records[sent:due]:
                acks.append(await producer.send(r.topic, r.value, key=r.key, headers=r.headers))
            sent = due
            await asyncio.sleep(0.005)
        stop = clock()
        await asyncio.gather(*acks)
        return start, stop
    finally:
        await producer.stop()


async def bare_consumer(kafka: KafkaSettings, n: int) -> float:
    """The baseline: the same records read from the start by a bare consumer of the worker's settings (a group of its
    own, up to 200 records a poll, offsets committed per partition batch): events/s from the first record read."""
    consumer = make_consumer(kafka, *(kafka.topic(t) for t in topics.ALL), group_id=f"bench-bare-{uuid.uuid4().hex}")
    await consumer.start()
    try:
        got, start = 0, None
        while got < n:
            batch = await consumer.getmany(timeout_ms=200, max_records=200)
            if batch and start is None:
                start = clock()
            for tp, records in batch.items():
                got += len(records)
                await consumer.commit({tp: records[-1].offset + 1})
        assert start is not None
        return n / (clock() - start)
    finally:
        await consumer.stop()


def windows(samples: Sequence[LagSample], start: float, stop: float) -> list[float]:
    """The committed offsets' rate over consecutive WINDOW_S windows in [start, stop] (a last one shorter than half
    a window left out)."""
    inside = [s for s in samples if start - SAMPLE_EVERY_S <= s.at <= stop + SAMPLE_EVERY_S]
    rates, first = [], inside[0]
    for s in inside[1:]:
        if s.at - first.at >= WINDOW_S:
            rates.append((s.committed - first.committed) / (s.at - first.at))
            first = s
    if inside[-1].at - first.at >= WINDOW_S / 2:
        rates.append((inside[-1].committed - first.committed) / (inside[-1].at - first.at))
    return rates


async def run_lag() -> list[Result]:
    n = int(RATE * SECONDS)
    load = [os.getloadavg()[0]]
    group = f"bench-dashboard-{uuid.uuid4().hex[:8]}"
    async with scratch_database() as url, bench_topics() as kafka:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        records = outgoing(kafka, n)
        health = free_port()
        env = service_env(url, kafka, BENCH_DASHBOARD_GROUP=group, DASHBOARD_WORKER__HEALTH_PORT=str(health))
        samples: list[LagSample] = []
        async with (child("dashboard-worker", ["-m", "bench.dashboard", "worker"], env) as worker,
                    LagReader(kafka, group) as reader):
            await answering(worker, f"http://127.0.0.1:{health}/readyz")  # its consumer has its partitions
            stopped = asyncio.Event()

            async def sample() -> None:
                while not stopped.is_set():
                    samples.append(await reader.sample())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopped.wait(), SAMPLE_EVERY_S - (clock() - samples[-1].at))

            sampler = asyncio.create_task(sample())
            start, stop = await produce_paced(kafka, records, RATE)
            while clock() - stop < DRAIN_LIMIT_S and not (samples and samples[-1].end == n and samples[-1].lag == 0):
                worker.check()
                await asyncio.sleep(0.05)
            stopped.set()
            await sampler
            load.append(os.getloadavg()[0])
        baseline = [await bare_consumer(kafka, n) for _ in range(BASELINE_RUNS)]
    drained = next((s for s in samples if s.at >= stop and s.end == n and s.lag == 0), None)
    until = drained.at if drained else samples[-1].at
    during = [s for s in samples if start <= s.at <= until]
    at_stop = min(samples, key=lambda s: abs(s.at - stop))
    lags = [s.lag for s in during]
    overall = samples[-1].committed / (until - start)
    details = {
        "offered_events": n, "offered_rate": RATE, "seconds": SECONDS, "produced_rate": n / (stop - start),
        "lag_median": statistics.median(lags), "lag_max": max(lags), "lag_at_producer_stop": at_stop.lag,
        "drain_s": drained.at - stop if drained else None, "drain_limit_s": DRAIN_LIMIT_S,
        "left_undrained": None if drained else samples[-1].lag, "worker_overall_rate": overall,
        # the backlog's reading rate once nothing more arrived; undrained, the time it would take at that rate
        "drain_rate": (at_stop.lag - (samples[-1].lag if not drained else 0)) / max(until - stop, 1e-9),
        "lag_samples": [(round(s.at - start, 2), s.lag) for s in samples], "load_average_1min": load,
        "cpus": os.cpu_count()}
    print_lag(details)
    measured = Result(f"dashboard worker, {RATE:,}/s offered ({WINDOW_S:.0f} s windows)", "events/s",
                      windows(samples, start, until), details)
    return [Result("bare aiokafka consumer, no database (backlog)", "events/s", baseline), measured]


def print_lag(d: dict[str, Any]) -> None:
    print(f"\ndashboard_lag: {d['offered_events']:,} events offered at {d['offered_rate']:,}/s for "
          f"{d['seconds']:.0f} s (produced at {d['produced_rate']:,.0f}/s) over 4 topics; the worker in a process "
          "of its own")
    print(f"  lag (events), every {SAMPLE_EVERY_S} s until drained: median {d['lag_median']:,.0f}, max "
          f"{d['lag_max']:,}; {d['lag_at_producer_stop']:,} when the producer stopped")
    if d["drain_s"] is not None:
        rate = f" (the backlog read at {d['drain_rate']:,.0f}/s)" if d["drain_s"] > 1 else ""
        print(f"  drained {d['drain_s']:.1f} s after the producer stopped{rate}")
    else:
        print(f"  NOT drained {d['drain_limit_s']:.0f} s after the producer stopped: {d['left_undrained']:,} left; "
              f"at the rate it read the backlog ({d['drain_rate']:,.0f}/s), drained after "
              f"~{d['lag_at_producer_stop'] / max(d['drain_rate'], 1e-9):,.0f} s")
    print(f"  worker overall: {d['worker_overall_rate']:,.0f} events/s from the first event produced until drained; "
          f"kept up with {d['offered_rate']:,}/s: {'yes' if d['lag_max'] < d['offered_rate'] else 'no'}")
    print(f"  load average (1 min) at the start and the end: {d['load_average_1min'][0]:.2f}, "
          f"{d['load_average_1min'][1]:.2f} on {d['cpus']} CPUs")


# --- dashboard_paint: a million events in the read model ---------------------------------------------------------

S_ID, S_APP, S_ALLOC, S_CALL = (uuid.UUID(int=k) for k in (0xE1, 0xA1, 0xB1, 0xC1))
S_AT = datetime(2001, 1, 1, tzinfo=UTC)
SENTINELS = (str(S_ID), str(S_APP), str(S_ALLOC), str(S_CALL))
INSTITUTIONS = ("KAIST", "SNU", "POSTECH", "Yonsei", "Korea Univ.", "UNIST", "GIST", "DGIST", "ETRI", "KISTI",
                *(f"Startup {k:02d}" for k in range(30)))
REGIONS = ("Seoul", "Gyeonggi", "Incheon", "Daejeon", "Busan", "Daegu", "Gwangju", "Ulsan", "Sejong", "Jeju")
FATES = {"submitted": 4, "scored": 8, "waitlisted": 10, "rejected": 10, "selected": 3, "withdrawn": 5,
         "allocated": 45, "reclaimed": 15}
STAGE = {"submitted": 1, "scored": 2, "waitlisted": 3, "rejected": 4, "selected": 5, "allocated": 6, "withdrawn": 7,
         "reclaimed": 8}
Row = tuple[Any, ...]
EVENT_COLUMNS = ("event_id", "type", "topic", "subject", "occurred_at", "application_id", "program", "call_id",
                 "csps", "payload")


def _template(kind: str, program: str) -> Event:
    """An event of the kind with the sentinels in place of what differs per row (its id, application, allocation,
    call and time)."""
    call = S_CALL if program != "P3" else None
    period: dict[str, Any] = {"gpus_requested": 8, "gpu_model": "H100", "period_start": date(2026, 3, 1),
                              "period_end": date(2026, 8, 31), "planned_gpu_hours_per_month": 4000}
    app: dict[str, Any] = {"id": S_ID, "occurred_at": S_AT, "application_id": S_APP}
    grant: dict[str, Any] = {"program": program, "gpu_model": "H100", "gpus": 8,
                             "starts_at": datetime(2026, 3, 1, tzinfo=UTC), "ends_at": datetime(2026, 9, 1, tzinfo=UTC)}
    window: dict[str, Any] = {"window_start": datetime(2026, 5, 1, 10, tzinfo=UTC),
                              "window_end": datetime(2026, 5, 1, 11, tzinfo=UTC)}
    drop: dict[str, Any] = {**app, "allocation_id": S_ALLOC, "utilization_pct": 18.5, "threshold_pct": 30.0, **window}
    make: dict[str, Callable[[], Event]] = {
        "submitted": lambda: ApplicationSubmitted(
            **app, partner_id=uuid.uuid4(), program=program, call_id=call,
            applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"),
            purpose="Pre-training a Korean language model on public-sector documents, then fine-tuning it for "
                    "citizen services.", **period),
        "scored": lambda: ApplicationScored(**app, program=program, call_id=call, score=74.25, policy_version="2026.1",
                                            institution="KAIST", region="Daejeon", bonus_points=2.0, **period),
        "rejected": lambda: ApplicationRejected(
            **app, program=program, policy_version="2026.1",
            failed_rules=["p1_gpu_range: P1 grants 1 to 16 GPUs; 32 were requested"]),
        "waitlisted": lambda: ApplicationWaitlisted(
            **app, program=program, call_id=call, rank=12,
            reason="no capacity of the model requested in the window asked for"),
        "selected": lambda: OfferMade(**app, **grant, offer_id=uuid.uuid4(),
                                      expires_at=datetime(2026, 3, 3, tzinfo=UTC)),
        "withdrawn": lambda: ApplicationWithdrawn(**app),
        "allocated": lambda: ResourceAllocated(
            **app, **grant, allocation_id=S_ALLOC, planned_gpu_hours_per_month=4000,
            slots=[GpuSlot(server_id=uuid.uuid4(), server_name="p3-kt-017", csp="kt", gpu_index=g)
                   for g in range(8)]),
        "usage": lambda: UsageRecorded(**app, allocation_id=S_ALLOC, gpu_hours=6.4, utilization_pct=80.0, **window),
        "warning": lambda: UtilizationDropped(**drop, level="warning"),
        "reclaim": lambda: UtilizationDropped(**drop, level="reclaim"),
        "reclaimed": lambda: ResourceReclaimed(**app, allocation_id=S_ALLOC, gpus=8, reason="low_utilization",
                                               reclaimed_at=datetime(2026, 6, 1, tzinfo=UTC)),
        "round": lambda: RoundSelected(id=S_ID, occurred_at=S_AT, call_id=S_CALL, program=program, selected=40,
                                       waitlisted=25, gpus_awarded=320, reserve_gpus=64, reserve_gpus_used=48,
                                       method="exact", objective=23_114.5),
    }
    return make[kind]()


@dataclass(frozen=True)
class Template:
    type: str
    topic: str
    payload: str  # a format string: {0} the event's id, {1} its application, {2} its allocation, {3} its call, {4} when
    has_program: bool
    has_call: bool
    is_grant: bool


def templates() -> dict[tuple[str, str], Template]:
    """Each kind of event of each program as the worker keeps its body (dashboard.entrypoints.consumer), the parts that
    differ per row made slots of a format string."""
    found = {}
    for kind in KINDS:
        for program in PROGRAMS:
            event = _template(kind, program)
            payload = event.model_dump(mode="json")
            text = json.dumps(payload)
            assert "\\" not in text  # nothing to escape: the rows' text goes into COPY as it is
            text = text.replace("{", "{{").replace("}", "}}").replace(str(payload["occurred_at"]), "{4}")
            for slot, sentinel in enumerate(SENTINELS):
                text = text.replace(sentinel, f"{{{slot}}}")
            found[kind, program] = Template(event.type, event.topic, text, "program" in payload,
                                            "call_id" in type(event).model_fields, kind == "allocated")
    return found


@dataclass
class App:
    """An application of the loaded read model: what decides its events and rows."""

    application_id: uuid.UUID
    program: str
    call_id: uuid.UUID | None
    fate: str
    submitted_at: datetime
    gpus: int
    csp: str
    institution: str
    region: str
    allocation_id: uuid.UUID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reclaimed_at: datetime | None = None
    warned: bool = False  # an allocation on the ladder now
    usage: int = 0  # hourly usage events
    text: str = ""  # the application's id as text

    def __post_init__(self) -> None:
        self.text = str(self.application_id)

    @property
    def allocated(self) -> bool:
        return self.fate in ("allocated", "reclaimed")

    def base_events(self) -> int:
        return {"submitted": 1, "scored": 2, "waitlisted": 3, "rejected": 2, "selected": 3, "withdrawn": 3,
                "allocated": 3 + self.warned, "reclaimed": 5}[self.fate]


@dataclass
class ReadModel:
    now: datetime
    apps: list[App]
    calls: dict[str, list[uuid.UUID]]
    call_times: dict[uuid.UUID, datetime]
    rows: dict[str, int] = field(default_factory=dict)


def plan_model(now: datetime, n_apps: int, n_events: int) -> ReadModel:
    """Applications over the past year, in the order submitted, each with its fate; the events left over are the
    allocations' hourly usage, spread over them."""
    rng = random.Random(20261201)
    year = timedelta(days=365)
    calls = {p: [uuid.uuid4() for _ in range(CALLS_PER_PROGRAM)] for p in ("P1", "P2")}
    call_times = {c: now - year + year * (k + 1) / CALLS_PER_PROGRAM - timedelta(days=14)
                  for p in calls for k, c in enumerate(calls[p])}
    fates, weights = list(FATES), list(FATES.values())
    apps = []
    for i in range(n_apps):
        submitted = now - year + year * i / n_apps + timedelta(seconds=rng.random() * 300)
        program = rng.choices(PROGRAMS, (3, 3, 4))[0]
        call = None if program == "P3" else calls[program][min(CALLS_PER_PROGRAM - 1, int(
            (submitted - (now - year)) / year * CALLS_PER_PROGRAM))]
        gpus = rng.choice((1, 2, 4, 8, 16) if program == "P1" else (8, 16, 32) if program == "P2" else (8, 16, 32, 64))
        app = App(uuid.uuid4(), program, call, rng.choices(fates, weights)[0], submitted, gpus, rng.choice(CSPS),
                  rng.choice(INSTITUTIONS), rng.choice(REGIONS))
        if app.allocated:
            app.starts_at = submitted + timedelta(days=5)
            app.ends_at = app.starts_at + timedelta(days=rng.choice((30, 60, 90, 120, 180)))
            if app.starts_at + timedelta(days=1) > now:
                app.fate, app.starts_at, app.ends_at = "scored", None, None  # too recent to be running
            else:
                app.allocation_id = uuid.uuid4()
                if app.fate == "reclaimed":
                    app.reclaimed_at = min(app.starts_at + (app.ends_at - app.starts_at) * 0.6,
                                           now - timedelta(hours=1))
                app.warned = app.fate == "allocated" and app.ends_at > now and rng.random() < 0.03
        apps.append(app)
    running = [a for a in apps if a.allocated]
    left = n_events - sum(a.base_events() for a in apps) - len(call_times)
    if left < 0:
        raise ValueError(f"{n_events:,} events are too few for {n_apps:,} applications")
    for k, app in enumerate(running):
        app.usage = left // len(running) + (k < left % len(running))
    return ReadModel(now, apps, calls, call_times)


KINDS = ("submitted", "scored", "rejected", "waitlisted", "selected", "withdrawn", "allocated", "usage", "warning",
         "reclaim", "reclaimed", "round")
KIND_NUMBER = {kind: number for number, kind in enumerate(KINDS)}


def event_id(app: App, kind: str, k: int = 0) -> str:
    """The id of the application's k-th event of the kind (its application's id, the last 48 bits told apart): the
    same wherever a row names it (the ladder's steps)."""
    return f"{app.text[:24]}{KIND_NUMBER[kind]:04x}{k:08x}"


def ladder(app: App, now: datetime) -> list[tuple[str, datetime, str]]:
    """The application's steps on the reclaim ladder: the call to reclaim before its reclaim, or a warning now."""
    if app.reclaimed_at:
        return [("reclaim", app.reclaimed_at - timedelta(days=1), event_id(app, "reclaim"))]
    return [("warning", now - timedelta(hours=3), event_id(app, "warning"))] if app.warned else []


def app_events(app: App, now: datetime) -> list[tuple[str, datetime, str]]:
    """The application's events: kind, when, id."""
    kinds = ["submitted"]
    if app.fate == "rejected":
        kinds.append("rejected")
    elif app.fate != "submitted":
        kinds.append("scored")
    if app.fate in ("waitlisted", "selected", "withdrawn"):
        kinds.append(app.fate)
    out = [(k, app.submitted_at + timedelta(days=d), event_id(app, k)) for d, k in enumerate(kinds)]
    if app.allocated:
        assert app.starts_at is not None and app.ends_at is not None
        out.append(("allocated", app.starts_at - timedelta(hours=6), event_id(app, "allocated")))
        until = min(now, app.ends_at, app.reclaimed_at or now)
        step = (until - app.starts_at) / max(1, app.usage)
        prefix = f"{app.text[:24]}{KIND_NUMBER['usage']:04x}"
        out += [("usage", app.starts_at + step * (k + 1), f"{prefix}{k:08x}") for k in range(app.usage)]
        out += ladder(app, now)
        if app.reclaimed_at:
            out.append(("reclaimed", app.reclaimed_at, event_id(app, "reclaimed")))
    return out


def event_rows(model: ReadModel, tpl: dict[tuple[str, str], Template], chunk: int = 2_000) -> Iterator[list[Row]]:
    """The event table's rows, a chunk of applications at a time, each chunk in the order its events happened; the
    rounds decided come first. Ids as text (asyncpg takes them so)."""
    rounds: list[Row] = []
    for program, calls in model.calls.items():
        for call_id in calls:
            t, at, round_id, call = tpl["round", program], model.call_times[call_id], str(uuid.uuid4()), str(call_id)
            payload = t.payload.format(round_id, "", "", call, at.isoformat())
            rounds.append((round_id, t.type, t.topic, call, at, None, program, call, [], payload))
    yield rounds
    for first in range(0, len(model.apps), chunk):
        rows = []
        for app in model.apps[first:first + chunk]:
            application, allocation = app.text, str(app.allocation_id)
            in_call = str(app.call_id) if app.call_id else None
            grant = [app.csp]
            for kind, at, row_id in app_events(app, model.now):
                t = tpl[kind, app.program]
                payload = t.payload.format(row_id, application, allocation, in_call, at.isoformat())
                rows.append((row_id, t.type, t.topic, application, at, application,
                             app.program if t.has_program else None, in_call if t.has_call else None,
                             grant if t.is_grant else [], payload))
        rows.sort(key=lambda r: r[4])
        yield rows


def application_rows(model: ReadModel) -> list[Row]:
    rows = []
    for app in model.apps:
        updated = app.submitted_at + timedelta(days=2)
        if app.allocated:
            assert app.starts_at is not None
            updated = app.reclaimed_at or app.starts_at
        rows.append((app.application_id, STAGE[app.fate], updated, app.program, app.call_id, app.gpus,
                     [app.csp] if app.allocated else [], app.ends_at))
    return rows


def profile_rows(model: ReadModel) -> list[Row]:
    rows = []
    for k, app in enumerate(model.apps):
        scored = app.fate not in ("submitted", "rejected")
        track = "early_career" if app.program == "P2" and k % 4 == 0 else "general"
        facts = (["youth_company"] if app.program == "P1" and k % 5 == 0 else
                 ["early_career"] if track == "early_career" else [])
        start = (app.starts_at or app.submitted_at + timedelta(days=30)).date()
        end = (app.ends_at.date() if app.ends_at else start + timedelta(days=90))
        rows.append((app.application_id, app.program, app.call_id, app.institution,
                     "industry" if app.program == "P1" else "academia", "small" if app.program == "P1" else None,
                     app.region in ("Seoul", "Gyeonggi", "Incheon"), "H100" if k % 3 else "H200", app.gpus, start, end,
                     app.submitted_at, app.submitted_at + timedelta(days=1) if scored else None, track,
                     facts if scored else None,
                     app.submitted_at + timedelta(days=2) if app.fate == "selected" else None))
    return rows


def allocation_rows(model: ReadModel) -> tuple[list[Row], list[Row], list[Row]]:
    """Allocations, the CSPs hosting them, and the reclaim ladder's steps (the same ids as the events')."""
    allocations, hosts, steps = [], [], []
    for app in (a for a in model.apps if a.allocated):
        allocations.append((app.allocation_id, app.application_id, app.program, "H100", app.gpus, app.starts_at,
                            app.ends_at, app.reclaimed_at, "low_utilization" if app.reclaimed_at else None))
        hosts.append((app.allocation_id, app.csp, app.gpus))
        steps += [(step_id, app.allocation_id, app.application_id, kind, at, "mean_below_plan", 18.5, 30.0)
                  for kind, at, step_id in ladder(app, model.now)]
    return allocations, hosts, steps


def round_rows(model: ReadModel) -> list[Row]:
    return [(call, program, 40, 25, 320, 64 if program == "P2" else 0, 48 if program == "P2" else 0,
             model.call_times[call]) for program, calls in model.calls.items() for call in calls]


async def copy_events(model: ReadModel, conns: Sequence[asyncpg.Connection]) -> int:
    """The events COPYed in, chunk by chunk, the connections taking turns; the next chunk made (in a thread) while
    the database takes the last ones. How many."""
    chunks = event_rows(model, templates())
    copying: list[asyncio.Task[Any] | None] = [None] * len(conns)
    made = asyncio.create_task(asyncio.to_thread(next, chunks, None))
    events, turn = 0, 0
    while (rows := await made) is not None:
        made = asyncio.create_task(asyncio.to_thread(next, chunks, None))
        if (previous := copying[turn]) is not None:
            await previous
        copying[turn] = asyncio.create_task(conns[turn].copy_records_to_table(
            "event", schema_name="dashboard", columns=EVENT_COLUMNS, records=rows))
        events += len(rows)
        turn = (turn + 1) % len(conns)
    await asyncio.gather(*(task for task in copying if task is not None))
    return events


async def load_model(dsn: str, model: ReadModel) -> dict[str, Any]:
    """Everything COPYed in, then VACUUM ANALYZE; seconds and sizes."""
    conn, other = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        start = clock()
        events = await copy_events(model, (conn, other))
        copied_events = clock()
        allocations, hosts, steps = allocation_rows(model)
        tables = {
            "application": (("application_id", "stage", "updated_at", "program", "call_id", "gpus", "csps",
                             "ends_at"), application_rows(model)),
            "application_profile": (("application_id", "program", "call_id", "institution", "sector", "company_size",
                                     "capital", "gpu_model", "gpus_requested", "period_start", "period_end",
                                     "submitted_at", "scored_at", "track", "facts", "offered_at"),
                                    profile_rows(model)),
            "allocation": (("allocation_id", "application_id", "program", "gpu_model", "gpus", "starts_at", "ends_at",
                            "reclaimed_at", "reclaim_reason"), allocations),
            "allocation_csp": (("allocation_id", "csp", "gpus"), hosts),
            "ladder_step": (("event_id", "allocation_id", "application_id", "kind", "at", "rule", "utilization_pct",
                             "threshold_pct"), steps),
            "round_result": (("call_id", "program", "selected", "waitlisted", "gpus_awarded", "reserve_gpus",
                              "reserve_gpus_used", "selected_at"), round_rows(model)),
        }
        for table, (columns, rows) in tables.items():
            await conn.copy_records_to_table(table, schema_name="dashboard", columns=columns, records=rows)
        copied = clock()
        for table in ("event", *tables):
            await conn.execute(f"VACUUM (ANALYZE) dashboard.{table}")
        vacuumed = clock()
        sizes = {t: int(await conn.fetchval(f"SELECT pg_total_relation_size('dashboard.{t}')"))
                 for t in ("event", *tables)}
        counts = {"event": events, **{t: len(rows) for t, (_, rows) in tables.items()}}
        assert await conn.fetchval("SELECT count(*) FROM dashboard.event") == events == EVENTS
    finally:
        await conn.close()
        await other.close()
    return {"copy_events_s": copied_events - start, "copy_rest_s": copied - copied_events,
            "vacuum_analyze_s": vacuumed - copied, "rows": counts, "bytes": sizes}


# --- dashboard_paint: the page in Chromium -------------------------------------------------------------------------

def bare_html() -> str:
    """The dashboard's page as a static document: its stylesheet inlined, no script."""
    static = Path(str(resources.files("dashboard") / "static"))
    html = (static / "index.html").read_text()
    html = html.replace('<link rel="stylesheet" href="/static/app.css">',
                        f"<style>\n{(static / 'app.css').read_text()}</style>")
    return html.replace('<script type="module" src="/static/app.js"></script>', "")


# the page's other reads, sent with the board's (app.js: loadViews): a load is over once they answered
VIEWS = ("/views/balance", "/views/demand", "/views/occupancy", "/views/ladder", "/views/csps", "/dead-letters")
NOT_BOARD = re.compile(r"/(views|dead-letters|upstream)/?")
FCP_SHOWN = "() => performance.getEntriesByName('first-contentful-paint').length > 0"
BOARD_READY = "() => performance.getEntriesByName('board-ready').length > 0"
VIEWS_DONE = f"""() => {{
  const done = new Set(performance.getEntriesByType("resource").map((r) => new URL(r.name).pathname));
  return {json.dumps(VIEWS)}.every((path) => done.has(path));
}}"""
TIMINGS = f"""() => {{
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const ready = performance.getEntriesByName("board-ready")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  const calls = {{}};
  for (const r of performance.getEntriesByType("resource")) {{
    const path = new URL(r.name).pathname;
    if (!(path in calls)) calls[path] = r.responseEnd;
  }}
  const views = {json.dumps(VIEWS)}.filter((path) => path in calls).map((path) => calls[path]);
  return {{fcp: fcp.startTime, ready: ready ? ready.startTime : null, html: nav.responseEnd, calls,
          views_done: views.length ? Math.max(...views) : null}};
}}"""


async def page_load(browser: Any, url: str, token: str | None, *, block_views: bool = False) -> dict[str, Any]:
    """One load in a fresh context (no cache, no connection kept): the paint timings, relative to navigation. The
    dashboard's load is over once its views answered too (so that the next load finds the server idle), or, with
    `block_views`, its requests for them are refused in the browser (a diagnosis: the board alone)."""
    context = await browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        if token is not None:
            await context.add_cookies([{"name": COOKIE, "value": token, "url": url, "httpOnly": True,
                                        "sameSite": "Strict"}])
            if block_views:
                await page.route(NOT_BOARD, lambda route: route.abort())
        await page.goto(url)
        await page.wait_for_function(FCP_SHOWN, timeout=WAIT_MS)
        if token is not None:
            try:
                await page.wait_for_function(BOARD_READY, timeout=WAIT_MS)
            except Exception as exc:
                signed_in = await page.locator("#board").is_visible()
                raise RuntimeError(f"no board-ready mark (board shown: {signed_in})") from exc
            if not block_views:
                await page.wait_for_function(VIEWS_DONE, timeout=WAIT_MS)
        timings: dict[str, Any] = await page.evaluate(TIMINGS)
        return timings
    finally:
        await context.close()


@dataclass
class Loads:
    bare: list[dict[str, Any]] = field(default_factory=list)
    page: list[dict[str, Any]] = field(default_factory=list)
    board_alone: list[dict[str, Any]] = field(default_factory=list)  # the views' requests refused


async def paint(dashboard: str, bare: str, token: str) -> Loads:
    """A warm-up load of each, then LOADS of each, interleaved: the bare page, the dashboard's, the dashboard's
    without its views."""
    from playwright.async_api import async_playwright  # a dev dependency, needed only here

    loads = Loads()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await page_load(browser, bare, None)
            await page_load(browser, dashboard, token)
            for _ in range(LOADS):
                loads.bare.append(await page_load(browser, bare, None))
                loads.page.append(await page_load(browser, dashboard, token))
                loads.board_alone.append(await page_load(browser, dashboard, token, block_views=True))
        finally:
            await browser.close()
    return loads


# --- the API calls alone, and their plans ----------------------------------------------------------------------------

def calls(model: ReadModel) -> dict[str, str]:
    today = model.now.date()
    weeks = f"start={today - timedelta(weeks=12)}&end={today + timedelta(weeks=8)}&step=week"
    oldest_call, some = model.calls["P1"][0], model.apps[len(model.apps) // 2]
    return {
        "GET /session": "/session", "GET /events?limit=50": "/events?limit=50", "GET /funnel": "/funnel",
        "GET /views/balance": "/views/balance", "GET /views/demand": "/views/demand",
        "GET /views/occupancy (20 weeks)": f"/views/occupancy?{weeks}", "GET /views/ladder": "/views/ladder",
        "GET /views/csps": "/views/csps", "GET /dead-letters?limit=100": "/dead-letters?limit=100",
        # the page's filters, each alone
        "GET /events?program=P1&limit=50": "/events?program=P1&limit=50",
        "GET /events?type=telemetry.&limit=50": "/events?type=telemetry.&limit=50",
        "GET /events?type=intake.application_withdrawn&limit=50":
            "/events?type=intake.application_withdrawn&limit=50",
        "GET /events?csp=gov&limit=50": "/events?csp=gov&limit=50",
        "GET /events?csp=nowhere&limit=50 (none)": "/events?csp=nowhere&limit=50",
        "GET /events?type=billing.&limit=50 (none)": "/events?type=billing.&limit=50",
        "GET /events?call_id=<the oldest P1 call>&limit=50": f"/events?call_id={oldest_call}&limit=50",
        "GET /events?call_id=<the newest P1 call>&limit=50": f"/events?call_id={model.calls['P1'][-1]}&limit=50",
        "GET /events?application_id=<one>&limit=50": f"/events?application_id={some.application_id}&limit=50",
        "GET /applications/<one>/story": f"/applications/{some.application_id}/story",
    }


async def time_calls(url: str, token: str, paths: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each call CALL_RUNS times (a slow one three times), the calls taking turns: milliseconds (median, max, the
    first), how many runs, and the statuses answered (200 expected; another is shown, not fatal)."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    statuses: dict[str, set[int]] = {name: set() for name in paths}
    async with httpx.AsyncClient(base_url=url, cookies={COOKIE: token}, timeout=120) as client:
        for _ in range(CALL_RUNS):
            for name, path in paths.items():
                if len(times[name]) >= 3 and sum(times[name]) > SLOW_CALLS_MS:
                    continue  # a slow call's median of three is enough
                start = clock()
                response = await client.get(path)
                times[name].append((clock() - start) * 1000)
                statuses[name].add(response.status_code)
    return {name: {"median_ms": statistics.median(t), "max_ms": max(t), "first_ms": t[0], "runs": len(t),
                   "statuses": sorted(statuses[name])} for name, t in times.items()}


class _Capture:
    """Stands in for a session: keeps the statement a repository method executes, answers nothing."""

    statement: Any = None

    async def execute(self, statement: Any) -> list[Any]:
        self.statement = statement
        return []

    async def scalar(self, statement: Any) -> int:
        self.statement = statement
        return 0


async def statements(model: ReadModel) -> dict[str, Any]:
    """The read model's statements as the repositories build them for the calls timed."""
    found: dict[str, Any] = {}

    async def page(name: str, where: EventFilter) -> None:
        session = _Capture()
        await EventRepository(session).page(where, before=None, after=None, limit=50)  # type: ignore[arg-type]
        found[name] = session.statement

    await page("GET /events?limit=50", EventFilter())
    await page("GET /events?program=P1&limit=50", EventFilter(program="P1"))
    await page("GET /events?type=telemetry.&limit=50", EventFilter(type="telemetry."))
    await page("GET /events?type=intake.application_withdrawn&limit=50",
               EventFilter(type="intake.application_withdrawn"))
    await page("GET /events?csp=gov&limit=50", EventFilter(csp="gov"))
    await page("GET /events?csp=nowhere&limit=50 (none)", EventFilter(csp="nowhere"))
    await page("GET /events?type=billing.&limit=50 (none)", EventFilter(type="billing."))
    await page("GET /events?call_id=<the oldest P1 call>&limit=50", EventFilter(call_id=model.calls["P1"][0]))
    await page("GET /events?call_id=<the newest P1 call>&limit=50", EventFilter(call_id=model.calls["P1"][-1]))
    session = _Capture()
    await ApplicationRepository(session).funnel(program=None, call_id=None, now=model.now)  # type: ignore[arg-type]
    found["GET /funnel"] = session.statement
    session = _Capture()
    await EventRepository(session).last_seq()  # type: ignore[arg-type]
    found["GET /events/stream (its start: the last seq)"] = session.statement
    # the views' main statements (each counts in the database and answers groups), for the calls timed
    today = model.now.date()
    views_read: dict[str, Callable[[Any], Awaitable[object]]] = {
        "GET /views/balance": lambda s: ProfileRepository(s).balance(program=None, call_id=None),
        "GET /views/demand": lambda s: ProfileRepository(s).asked(
            program=None, bounds=views.month_bounds(views.months_from(today, 12))),
        "GET /views/demand (its waitlist)": lambda s: WaitlistRepository(s).waiting(program=None),
        "GET /views/occupancy (20 weeks)": lambda s: AllocationRepository(s).held(
            bounds=views.bucket_bounds(views.buckets(today - timedelta(weeks=12), today + timedelta(weeks=8), "week"),
                                       "week"), program=None),
        "GET /views/ladder": lambda s: LadderRepository(s).standing(now=model.now, program=None, limit=500),
    }
    for name, read in views_read.items():
        session = _Capture()
        await read(session)
        found[name] = session.statement
    return found


async def explain(dsn: str, model: ReadModel) -> dict[str, float]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, as asyncpg sends it (numbered parameters); execution ms each,
    the plans in .local/bench-dashboard/explain.txt."""
    dialect = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
    conn = await asyncpg.connect(dsn)
    ms, text = {}, []
    try:
        for name, statement in (await statements(model)).items():
            compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
            params = [compiled.params[p] for p in compiled.positiontup or ()]
            plan = [r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", *params)]
            ms[name] = float(plan[-1].split(":")[1].strip().split()[0])  # "Execution Time: 1.234 ms"
            text += [f"-- {name}", str(compiled), f"-- parameters: {params}", *plan, ""]
    finally:
        await conn.close()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    (SCRATCH / "explain.txt").write_text("\n".join(text))
    return ms


def _median(loads: list[dict[str, Any]], what: str, path: str | None = None) -> float:
    values = [load["calls"].get(path) if path else load[what] for load in loads]
    return statistics.median(v for v in values if v is not None) if any(v is not None for v in values) else math.nan


def print_paint(loaded: dict[str, Any], api: dict[str, dict[str, Any]], plans: dict[str, float],
                loads: Loads) -> None:
    rows = loaded["rows"]
    print(f"\ndashboard_paint: {rows['event']:,} events of {rows['application']:,} applications "
          f"({rows['allocation']:,} allocations, {rows['ladder_step']:,} ladder steps) COPYed in "
          f"{loaded['copy_events_s']:.1f} s (+ {loaded['copy_rest_s']:.1f} s the other tables), VACUUM ANALYZE "
          f"{loaded['vacuum_analyze_s']:.1f} s; event table {loaded['bytes']['event'] / 2**20:,.0f} MiB")
    print("  in the page (medians, ms from navigation; a call's time is its response's end):")
    for what, of in (("the page", loads.page), ("the page, its views refused (the board alone)", loads.board_alone)):
        calls_done = ", ".join(f"{path} {_median(of, 'calls', path):,.0f}" for path in
                               ("/static/app.js", "/session", "/events", "/funnel"))
        views = f", all views answered {_median(of, 'views_done'):,.0f}" if of is loads.page else ""
        print(f"    {what}: HTML {_median(of, 'html'):,.0f}, FCP {_median(of, 'fcp'):,.0f}, {calls_done}, "
              f"board-ready {_median(of, 'ready'):,.0f}{views}")
    print(f"  each call alone over HTTP, {CALL_RUNS} runs (a slow one 3) (ms): median / max / first; and the "
          "statement's execution in EXPLAIN ANALYZE")
    for name, t in api.items():
        plan = f"  SQL {plans[name]:,.1f} ms" if name in plans else ""
        status = "" if t["statuses"] == [200] else f"  HTTP {t['statuses']}"
        print(f"    {name:<58} {t['median_ms']:8,.1f} {t['max_ms']:8,.1f} {t['first_ms']:8,.1f}{plan}{status}")
    for name, v in plans.items():
        if name not in api:
            print(f"    {name:<58} {'':>26}  SQL {v:,.1f} ms")
    print(f"  plans in {SCRATCH / 'explain.txt'}")


async def run_paint() -> list[Result]:
    now = datetime.now(UTC)
    load = [os.getloadavg()[0]]
    private_pem, public_pem = generate_keypair()
    auth = AuthSettings(private_key_pem=private_pem, public_keys_pem=[public_pem], token_ttl_s=3600)
    token = TokenIssuer.from_settings(auth).issue(Principal.of("bench-operator", "operator", None)).token
    model = plan_model(now, APPLICATIONS, EVENTS)
    async with scratch_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        loaded = await load_model(dsn, model)
        api_port, bare_port, nobody = free_port(), free_port(), free_port()
        dashboard, bare = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        upstreams = {f"DASHBOARD_UPSTREAM__{s}_URL": f"http://127.0.0.1:{nobody}"
                     for s in ("INTAKE", "EVALUATION", "ALLOCATION", "TELEMETRY", "BILLING")}
        env = service_env(url, KafkaSettings(bootstrap_servers=KAFKA), **upstreams,
                          DASHBOARD_AUTH__PUBLIC_KEYS_PEM=public_pem, DASHBOARD_HTTP__PORT=str(api_port),
                          DASHBOARD_SESSION__SECURE_COOKIE="false", DASHBOARD_RATE_LIMIT__ENABLED="false",
                          DASHBOARD_UPSTREAM__DASHBOARD_URL=dashboard)
        async with (child("dashboard-api", ["-m", "dashboard", "api"], env) as api_process,
                    child("bare-page", ["-m", "bench.dashboard", "bare-page"],
                          {"BENCH_BARE_PORT": str(bare_port)}) as bare_process):
            await answering(api_process, f"{dashboard}/healthz")
            await answering(bare_process, bare)
            loads = await paint(dashboard, bare, token)
            api = await time_calls(dashboard, token, calls(model))
        plans = await explain(dsn, model)
    load.append(os.getloadavg()[0])
    print_paint(loaded, api, plans, loads)
    print(f"  load average (1 min) at the start and the end: {load[0]:.2f}, {load[1]:.2f} on {os.cpu_count()} CPUs")
    details = {"loaded": loaded, "api_ms": api, "sql_execution_ms": plans, "loads": vars(loads),
               "load_average_1min": load, "cpus": os.cpu_count()}
    events = f"{EVENTS / 1e6:g}M events"
    return [Result("bare FastAPI page (same HTML, CSS inlined): FCP", "ms", [b["fcp"] for b in loads.bare]),
            Result(f"dashboard page, {events}: first-contentful-paint", "ms", [x["fcp"] for x in loads.page],
                   details),
            Result(f"dashboard page, {events}: board-ready mark", "ms", [x["ready"] for x in loads.page]),
            Result("  the same, its views refused in the browser", "ms", [x["ready"] for x in loads.board_alone])]


# --- the processes the benchmarks start -----------------------------------------------------------------------------

async def _worker() -> None:
    """The dashboard's worker as `python -m dashboard worker` runs it (the topics are made by the benchmark), under
    the consumer group BENCH_DASHBOARD_GROUP."""
    from dashboard.entrypoints.worker import create_worker
    from servicekit.logs import configure_logging
    from servicekit.worker import install_signal_handlers

    settings = bench_settings(os.environ["BENCH_DASHBOARD_GROUP"])()
    configure_logging(settings.service_name, settings.log, role="worker")
    worker = create_worker(settings)
    install_signal_handlers(worker.stop)
    await worker.run()


def _bare_page() -> None:
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    app, html = FastAPI(), bare_html()

    @app.get("/")
    async def page() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BENCH_BARE_PORT"]), log_level="warning",
                access_log=False)


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        asyncio.run(_worker())
    elif sys.argv[1:] == ["bare-page"]:
        _bare_page()
    else:
        sys.exit("python -m bench.dashboard worker | bare-page: the processes the benchmarks start "
                 "(the benchmarks: python -m bench dashboard_lag dashboard_paint)")
