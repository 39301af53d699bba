"""Submit → decided, as a partner sees it: a P3 application POSTed to intake until allocation's decision on the topic.

On a scratch database (each service's migrations in its own schema) and the platform's topics under a fresh
prefix, the five services run as processes, api and worker each (`python -m <service> api|worker`, their default
settings but for the database, the broker, the keys and the ports). An operator registers a CSP and
BENCH_PIPELINE_SERVERS (40) government servers of 8 H100s in the P3 pool, so that the first applications are placed
and later ones waitlisted, as a rolling intake goes.

Each step offers P3 applications at a steady rate (open loop: a request is started on schedule whether or not the
earlier ones were answered) for a number of seconds. The clock starts before the POST and stops when a consumer of
`allocation.allocations.v1` reads the application's `resource_allocated` or `application_waitlisted`. A step that
has decisions missing BENCH_PIPELINE_DRAIN_S (30) after its last request has fallen behind: its missing ones count
as that long, and so do the applications intake refused with 503 (overloaded: no database connection came free in
time), counted apart as `refused`. The steps: BENCH_PIPELINE_RATES (10,25,50,75,100 applications/s) for
BENCH_PIPELINE_STEP_S (15) each, then the goal's step: BENCH_PIPELINE_RATE (100) for BENCH_PIPELINE_SECONDS (60).

Baseline, in the same run and at the same rates: a bare aiokafka relay of one message over the same three hops
(the bench produces to a first topic; two relay processes, each a bare consumer and idempotent producer with the
services' client settings, committing offsets as often as a worker does, pass it on to a second and a third; the
bench reads the third) — the floor that Kafka and Python clients on this machine set, with no HTTP, no database, no
model.

Then the pipeline's Kafka traffic alone (SKELETON): the same three hops, but read by the five consumer groups that
read them in the platform (billing reads all three, intake's worker two, allocation two, telemetry one), each a bare
process with its service's fetch wait: what the broker and the clients cost an application before any service does
anything with it.

Reported: p50, p95, p99 of each step, the CPU each process spent per application, the highest rate whose p99 is
within the goal (50 ms), and for the last step the SQL statements that took the most execution time per application
(PostgreSQL's pg_stat_statements, which the local stack loads; nothing when it is not readable).
`python -m bench.pipeline kafka-only` runs the two Kafka-only runs alone; their clients
commit every BENCH_PIPELINE_COMMIT_INTERVAL_S (a worker's default, 1 s; 0: after every poll) and wait
BENCH_PIPELINE_FETCH_WAIT_MS on a fetch (default: each service's own). A Kafka-only run's process is
`python -m bench.pipeline relay <group> <topic>[,<topic>...] <target or -> <fetch wait ms>`.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import socket
import statistics
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from bench.common import KAFKA, PG, REPO, Result, clock, scratch_database, scratch_topics
from contracts import topics
from servicekit.auth import Principal, TokenIssuer, generate_keypair
from servicekit.auth.tokens import Role
from servicekit.kafka import ensure_topics, make_consumer, make_producer
from servicekit.migrations import upgrade
from servicekit.settings import AuthSettings, KafkaSettings, WorkerSettings


def _number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


SERVICES = ("intake", "evaluation", "allocation", "telemetry", "billing")
RATES = [int(r) for r in os.environ.get("BENCH_PIPELINE_RATES", "10,25,50,75,100").split(",") if r]
STEP_S = _number("BENCH_PIPELINE_STEP_S", 15)
RATE = int(_number("BENCH_PIPELINE_RATE", 100))
SECONDS = _number("BENCH_PIPELINE_SECONDS", 60)
DRAIN_S = _number("BENCH_PIPELINE_DRAIN_S", 30)
SERVERS = int(_number("BENCH_PIPELINE_SERVERS", 40))
# the Kafka-only runs' clients, as the services' workers run them unless set: how often they commit, and a fetch wait
# for every group (else each service's own)
COMMIT_INTERVAL_S = _number("BENCH_PIPELINE_COMMIT_INTERVAL_S", WorkerSettings().commit_interval_s)
FETCH_WAIT_MS = os.environ.get("BENCH_PIPELINE_FETCH_WAIT_MS")
GOAL_P99_MS = 50.0
LOGS = REPO / ".local" / "logs" / "bench-pipeline"
DECIDED = {"allocation.resource_allocated.v1", "allocation.application_waitlisted.v1"}
TODAY = datetime.now(UTC).date()


def p3_application(n: int) -> dict[str, Any]:
    gpus = 1 + n % 4
    return {
        "program": "P3",
        "applicant": {"name": f"Bench Lab {n}", "sector": "academia", "institution": "GIST", "region": "Gwangju"},
        "gpus_requested": gpus, "gpu_model": "H100", "earliest_start": TODAY.isoformat(),
        "acceptable_window_months": 2, "period_start": TODAY.isoformat(),
        "period_end": (TODAY + timedelta(days=89)).isoformat(),
        "planned_gpu_hours_per_month": 500 * gpus, "purpose": "a speech model for the benchmark",
    }


@dataclass
class Step:
    """One rate's latencies (ms), how many decisions never came (or were refused at the door), and the CPU each
    process spent per application."""

    rate: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    missing: int = 0
    refused: int = 0  # answered 503 by intake: never submitted, so never decided
    cpu_ms_per_application: dict[str, float] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)  # the most time-consuming, per application
    full_collections: dict[str, dict[str, float]] = field(default_factory=dict)  # per process, as GcPauses.added

    def percentile(self, q: float) -> float:
        values = sorted([*self.latencies_ms, *[DRAIN_S * 1000] * (self.missing + self.refused)])
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    def summary(self) -> dict[str, Any]:
        return {"rate": self.rate, "seconds": self.seconds, "decided": len(self.latencies_ms),
                "missing": self.missing, "refused": self.refused, "p50_ms": round(self.percentile(0.50), 1),
                "p95_ms": round(self.percentile(0.95), 1), "p99_ms": round(self.percentile(0.99), 1),
                "cpu_ms_per_application": self.cpu_ms_per_application, "statements": self.statements,
                "full_collections": self.full_collections}


class Arrivals:
    """A consumer of one topic that notes when each awaited key's decision arrives (the bench's clock)."""

    def __init__(self, topic: str, *, types: set[str] | None) -> None:
        self._topic, self._types = topic, types
        self.seen: dict[str, float] = {}
        self.arrived = asyncio.Event()  # set at each decision read
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(self._topic, bootstrap_servers=KAFKA, auto_offset_reset="latest",
                                          group_id=None, enable_auto_commit=False)
        await self._consumer.start()
        await self._consumer.seek_to_end()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            at = clock()
            headers = dict(record.headers or ())
            if self._types is None or headers.get("ce_type", b"").decode() in self._types:
                key = record.key.decode() if record.key else ""
                self.seen.setdefault(key, at)
                self.arrived.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


Counts = dict[int, tuple[int, float, str]]  # per statement (queryid): calls, total execution ms, its text


class Statements:
    """The scratch database's statements as PostgreSQL's pg_stat_statements counts them, when the server loads it
    and the bench's role may read every role's (deploy/local/postgres.sh sets up both); else nothing is reported. A
    step reports what it added: the statements that took the most execution time, per application."""

    TOP = 8

    def __init__(self, database: str) -> None:
        self._database = database

    async def counts(self) -> Counts | None:
        try:
            conn = await asyncpg.connect(f"{PG}/postgres")
        except (OSError, asyncpg.PostgresError):
            return None
        try:
            rows = await conn.fetch(
                "SELECT queryid, calls, total_exec_time, query FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND queryid IS NOT NULL",
                self._database)
        except asyncpg.PostgresError:  # not loaded, not created, or not readable
            return None
        finally:
            await conn.close()
        counts: Counts = {}
        for r in rows:  # one row per role, and per top level or not: summed
            calls, ms, _ = counts.get(r["queryid"], (0, 0.0, ""))
            counts[r["queryid"]] = (calls + r["calls"], ms + r["total_exec_time"], r["query"])
        return counts

    @classmethod
    def added(cls, before: Counts | None, after: Counts | None, applications: int) -> list[dict[str, Any]]:
        if before is None or after is None or not applications:
            return []
        rows: list[dict[str, Any]] = []
        for queryid, (calls, total_ms, query) in after.items():
            was_calls, was_ms = before.get(queryid, (0, 0.0, ""))[:2]
            if calls > was_calls:
                rows.append({"calls": round((calls - was_calls) / applications, 2),
                             "us_each": round((total_ms - was_ms) * 1000 / (calls - was_calls)),
                             "ms": round((total_ms - was_ms) / applications, 3),
                             "query": " ".join(query.split())[:110]})
        rows.sort(key=lambda r: -r["ms"])
        calls, ms = sum(r["calls"] for r in rows), sum(r["ms"] for r in rows)
        everything = {"calls": round(calls, 1), "us_each": round(ms * 1000 / calls) if calls else 0,
                      "ms": round(ms, 3), "query": "(every statement)"}
        return [everything, *rows[:cls.TOP]] if rows else []


GcReading = dict[str, tuple[dict[float, float], float]]  # per process: cumulative count by bucket bound, seconds


class GcPauses:
    """Each service process's full collections (generation 2), from the `platform_gc_pause_seconds` histogram every
    process serves on its /metrics; a step reports how many fell inside it, their time, and the bucket bound the
    longest one was within."""

    def __init__(self, metrics: dict[str, str]) -> None:
        self._metrics = metrics

    async def read(self) -> GcReading:
        reading: GcReading = {}
        async with httpx.AsyncClient(timeout=5) as http:
            for name, url in self._metrics.items():
                with contextlib.suppress(httpx.HTTPError):
                    buckets, seconds = {}, 0.0
                    for family in text_string_to_metric_families((await http.get(url)).text):
                        for sample in family.samples if family.name == "platform_gc_pause_seconds" else ():
                            if sample.labels.get("generation") != "2":
                                continue
                            if sample.name.endswith("_bucket"):
                                buckets[float(sample.labels["le"])] = sample.value
                            elif sample.name.endswith("_sum"):
                                seconds = sample.value
                    reading[name] = (buckets, seconds)
        return reading

    @staticmethod
    def added(before: GcReading, after: GcReading) -> dict[str, dict[str, float]]:
        added = {}
        for name, (buckets, seconds) in after.items():
            was_buckets, was_seconds = before.get(name, ({}, 0.0))
            new = {bound: count - was_buckets.get(bound, 0.0) for bound, count in buckets.items()}
            count = new.get(float("inf"), 0.0)
            if count > 0:
                added[name] = {"count": int(count), "ms": round((seconds - was_seconds) * 1000, 1),
                               "longest_within_ms": min(b for b, c in new.items() if c == count) * 1000}
        return added


async def offer(rate: int, seconds: float, send: Any, arrivals: Arrivals,
                pids: dict[str, list[int]] | None = None, statements: Statements | None = None,
                pauses: GcPauses | None = None) -> Step:
    """Start `send(n)` every 1/rate s for `seconds` (open loop); each returns the key its decision will carry and
    the clock reading before it was sent. With `pids`, the CPU each of those processes spent meanwhile; with
    `statements`, the SQL statements that took the most time; with `pauses`, the full collections."""
    step = Step(rate, seconds)
    pids = {**(pids or {}), **infrastructure_pids(), "bench": [os.getpid()]} if pids is not None else {}
    counts_before = await statements.counts() if statements is not None else None
    pauses_before = await pauses.read() if pauses is not None else {}
    cpu_before = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
    count = int(rate * seconds)
    started = clock()
    pending: list[asyncio.Task[tuple[str | None, float]]] = []
    for n in range(count):
        delay = started + n / rate - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(send(n)))
    sent = await asyncio.gather(*pending)
    deadline = clock() + DRAIN_S
    while clock() < deadline and any(key is not None and key not in arrivals.seen for key, _ in sent):
        arrivals.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrivals.arrived.wait(), timeout=max(0.0, deadline - clock()))
    for key, at in sent:
        if key is None:
            step.refused += 1
        elif key in arrivals.seen:
            step.latencies_ms.append((arrivals.seen[key] - at) * 1000)
        else:
            step.missing += 1
    step.cpu_ms_per_application = {name: round((sum(map(cpu_seconds, group)) - cpu_before[name]) * 1000 / count, 2)
                                   for name, group in pids.items()}
    if statements is not None:
        step.statements = Statements.added(counts_before, await statements.counts(), count)
    if pauses is not None:
        step.full_collections = GcPauses.added(pauses_before, await pauses.read())
    return step


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def at_rest(processes: Processes, seconds: float = 10.0) -> dict[str, dict[str, float]]:
    """Each service process with nothing arriving: its resident memory and the share of a core it uses."""
    before = {name: cpu_seconds(pids[0]) for name, pids in processes.names.items()}
    await asyncio.sleep(seconds)
    return {name: {"rss_mb": round(rss_mb(pids[0]), 1),
                   "cpu_pct": round((cpu_seconds(pids[0]) - before[name]) * 100 / seconds, 1)}
            for name, pids in processes.names.items()}


def infrastructure_pids() -> dict[str, list[int]]:
    """PostgreSQL's processes (each connection's backend too) and the Kafka broker's JVM on this machine."""
    found: dict[str, list[int]] = {"postgres": [], "kafka": []}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                comm = (entry / "comm").read_text().strip()
                if comm == "postgres":
                    found["postgres"].append(int(entry.name))
                elif comm == "java" and b"kafka" in (entry / "cmdline").read_bytes():
                    found["kafka"].append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Processes:
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    names: dict[str, list[int]] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)  # each service process's /metrics

    async def spawn(self, args: Sequence[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(sys.executable, *args, env={**os.environ, **env},
                                                        stdout=out, stderr=out, cwd=REPO)
        self.procs.append(proc)
        self.names[log.stem] = [proc.pid]
        return proc

    def check(self) -> None:
        if any(p.returncode is not None for p in self.procs):
            raise RuntimeError(f"a benchmark process exited; logs in {LOGS}")

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def service_env(service: str, url: str, prefix: str, port: int, auth: AuthSettings,
                probe_port: int = 0) -> dict[str, str]:
    p = f"{service.upper()}_"
    env = {f"{p}DB__URL": url, f"{p}KAFKA__BOOTSTRAP_SERVERS": KAFKA, f"{p}KAFKA__TOPIC_PREFIX": prefix,
           f"{p}HTTP__HOST": "127.0.0.1", f"{p}HTTP__PORT": str(port), f"{p}RATE_LIMIT__ENABLED": "false",
           f"{p}WORKER__HEALTH_PORT": str(probe_port),
           f"{p}AUTH__PUBLIC_KEYS_PEM": "".join(auth.public_keys_pem), f"{p}LOG__LEVEL": "WARNING"}
    if service == "intake" and auth.private_key_pem is not None:
        env[f"{p}AUTH__PRIVATE_KEY_PEM"] = auth.private_key_pem.get_secret_value()
    return env


@asynccontextmanager
async def services_running(url: str, prefix: str, auth: AuthSettings,
                           ) -> AsyncIterator[tuple[dict[str, str], Processes]]:
    for service in SERVICES:
        await asyncio.to_thread(upgrade, REPO / "services" / service / "migrations", url)
    processes, urls = Processes(), {}
    try:
        for service in SERVICES:
            port, probe_port = _free_port(), _free_port()
            urls[service] = f"http://127.0.0.1:{port}"
            processes.metrics[f"{service}-api"] = f"{urls[service]}/metrics"
            processes.metrics[f"{service}-worker"] = f"http://127.0.0.1:{probe_port}/metrics"
            env = service_env(service, url, prefix, port, auth, probe_port)
            for role in ("worker", "api"):
                await processes.spawn(["-m", service, role], env, LOGS / f"{service}-{role}.log")
        async with httpx.AsyncClient() as http:
            for service, base in urls.items():
                for _ in range(480):
                    processes.check()
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"{base}/readyz", timeout=2)).status_code == 200:
                            break
                    await asyncio.sleep(0.25)
                else:
                    raise RuntimeError(f"{service} never became ready; logs in {LOGS}")
        yield urls, processes
        processes.check()
    finally:
        await processes.stop()


PROFILER = os.environ.get("BENCH_PIPELINE_PROFILER", str(Path(sys.executable).with_name("py-spy")))
PROFILE_S = _number("BENCH_PIPELINE_PROFILE_S", 0)
PROFILE_RATE = int(_number("BENCH_PIPELINE_PROFILE_RATE", 10))


async def profiled(processes: Processes, send: Any, arrivals: Arrivals) -> Step:
    """py-spy samples every service process (collapsed stacks, one file each in .local/logs/bench-pipeline/profile/)
    while applications arrive at BENCH_PIPELINE_PROFILE_RATE for BENCH_PIPELINE_PROFILE_S."""
    out = LOGS / "profile"
    out.mkdir(parents=True, exist_ok=True)
    spies = [await asyncio.create_subprocess_exec(
        PROFILER, "record", "--format", "raw", "--rate", "200", "--duration", str(int(PROFILE_S)), "--nonblocking",
        "--output", str(out / f"{name}.txt"), "--pid", str(pids[0]), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL) for name, pids in processes.names.items()]
    step = await offer(PROFILE_RATE, PROFILE_S, send, arrivals, processes.names)
    await asyncio.gather(*(spy.wait() for spy in spies))
    print(f"  profiled at {PROFILE_RATE}/s: {step.summary()}; stacks in {out}")
    return step


def token(auth: AuthSettings, role: Role, **claims: Any) -> dict[str, str]:
    principal = Principal(client_id=f"bench-{role}", role=role, **claims)
    return {"Authorization": f"Bearer {TokenIssuer.from_settings(auth).issue(principal).token}"}


async def seed(http: httpx.AsyncClient, allocation: str, auth: AuthSettings) -> None:
    operator = token(auth, "operator")
    (await http.post(f"{allocation}/csps", json={"name": "gov-dc"}, headers=operator)).raise_for_status()
    for n in range(SERVERS):
        (await http.post(f"{allocation}/servers", json={
            "csp": "gov-dc", "name": f"p3-gov-{n:03d}", "region": "Gwangju", "gpu_model": "H100", "gpus": 8,
            "pool": "P3"}, headers=operator)).raise_for_status()


async def run_services(prefix: str) -> list[Step]:
    private_pem, public_pem = generate_keypair()
    auth = AuthSettings(private_key_pem=private_pem, public_keys_pem=[public_pem])
    async with scratch_database() as url, services_running(url, prefix, auth) as (urls, processes):
        arrivals = Arrivals(f"{prefix}{topics.ALLOCATIONS}", types=DECIDED)
        await arrivals.start()
        partner = token(auth, "partner", partner_id=uuid.uuid4())
        # the load generator shares the two cores with what it measures: aiohttp's client costs it about a third of
        # httpx's CPU a request. Idle connections are dropped before uvicorn's keep-alive (5 s) would close them.
        connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=2)
        try:
            async with httpx.AsyncClient(timeout=60) as http, aiohttp.ClientSession(
                    connector=connector, timeout=aiohttp.ClientTimeout(total=60), headers=partner) as load:
                await seed(http, urls["allocation"], auth)
                serial = iter(range(10**9))
                submit = f"{urls['intake']}/applications"

                async def send(_: int) -> tuple[str | None, float]:
                    at = clock()
                    async with load.post(submit, data=orjson.dumps(p3_application(next(serial))),
                                         headers={"Content-Type": "application/json"}) as response:
                        body = await response.read()
                    if response.status == 503:  # overloaded: the partner is told to come back (Retry-After)
                        return None, at
                    if response.status != 201:
                        raise RuntimeError(f"intake answered {response.status}: {body[:500]!r}")
                    return str(orjson.loads(body)["id"]), at

                await offer(5, 4, send, arrivals)  # warm-up: connections, group joins, compiled statements
                rest = await at_rest(processes)
                print("  at rest:", json.dumps(rest))
                if PROFILE_S:
                    return [await profiled(processes, send, arrivals)]
                statements, pauses = Statements(url.rsplit("/", 1)[1]), GcPauses(processes.metrics)
                return [await offer(rate, seconds, send, arrivals, processes.names, statements, pauses)
                        for rate, seconds in schedule()]
        finally:
            await arrivals.stop()


def schedule() -> list[tuple[int, float]]:
    return [*((r, STEP_S) for r in RATES), (RATE, SECONDS)]


# the Kafka-only runs: per consumer group, the topics (hop numbers) it reads, and the hop it passes the first one's
# records on to (None: it reads and commits only)
Topology = dict[str, tuple[tuple[int, ...], int | None]]
BARE: Topology = {"relay-0": ((0,), 1), "relay-1": ((1,), 2)}
# the pipeline's own traffic a P3 application makes, without its services: intake's outbox → hop 0; evaluation reads
# it, scores → hop 1; allocation reads hops 1 (and 0, for withdrawals), decides → hop 2; intake's worker reads 1 and
# 2, billing 0, 1 and 2, telemetry 2 (and the bench 2)
SKELETON: Topology = {"evaluation": ((0,), 1), "allocation": ((1, 0), 2), "intake": ((1, 2), None),
                      "billing": ((0, 1, 2), None), "telemetry": ((2,), None)}


async def relay(group: str, sources: list[str], target: str | None, fetch_wait_ms: int = 0) -> None:
    """One consumer group of a Kafka-only run: a bare consumer and idempotent producer with the services' settings;
    the records of the first source are sent on to `target` (if any), and the offsets of what was read committed
    after, as often as a service's worker commits them."""
    settings = KafkaSettings(bootstrap_servers=KAFKA, fetch_wait_ms=fetch_wait_ms)
    consumer = make_consumer(settings, *sources, group_id=group)
    producer = make_producer(settings, client_id=group)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    every_s, committed_at, read = COMMIT_INTERVAL_S, 0.0, {}
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=200)
            if target is not None:
                sent = [await producer.send(target, r.value, key=r.key, headers=r.headers)
                        for tp, records in batch.items() if tp.topic == sources[0] for r in records]
                await asyncio.gather(*sent)
            read.update({tp: records[-1].offset + 1 for tp, records in batch.items() if records})
            if read and clock() - committed_at >= every_s:
                await consumer.commit(read)
                read, committed_at = {}, clock()
    finally:
        await consumer.stop()
        await producer.stop()


def fetch_wait_ms(service: str) -> int:
    """The service's own consumer fetch wait (0 for a group no service is), unless BENCH_PIPELINE_FETCH_WAIT_MS."""
    if FETCH_WAIT_MS is not None:
        return int(FETCH_WAIT_MS)
    with contextlib.suppress(ImportError):
        return int(importlib.import_module(f"{service}.config").Settings.default_fetch_wait_ms)
    return 0


async def run_kafka_only(prefix: str, name: str, topology: Topology) -> list[Step]:
    """The schedule over three topics and the topology's consumer groups, one process each."""
    hops = [f"{prefix}{name}.{n}" for n in range(3)]
    await ensure_topics(KafkaSettings(bootstrap_servers=KAFKA, topic_partitions=3), hops, client_id="bench")
    processes = Processes()
    arrivals = Arrivals(hops[2], types=None)
    producer = make_producer(KafkaSettings(bootstrap_servers=KAFKA), client_id="bench")
    try:
        for group, (reads, target) in topology.items():
            await processes.spawn(["-m", "bench.pipeline", "relay", f"{prefix}{name}-{group}",
                                   ",".join(hops[n] for n in reads), "-" if target is None else hops[target],
                                   str(fetch_wait_ms(group))], {}, LOGS / f"{name}-{group}.log")
        await arrivals.start()
        await producer.start()

        async def send(_: int) -> tuple[str, float]:
            key = uuid.uuid4().hex
            at = clock()
            await producer.send(hops[0], json.dumps({"id": key}).encode(), key=key.encode())
            return key, at

        for _ in range(120):  # until every group joined and a message passes
            processes.check()
            if (await offer(5, 1, send, arrivals)).missing == 0:
                break
        await offer(5, 4, send, arrivals)  # every group's first fetches and commits done
        return [await offer(rate, seconds, send, arrivals, processes.names) for rate, seconds in schedule()]
    finally:
        await producer.stop()
        await arrivals.stop()
        await processes.stop()


def best_rate(steps: Sequence[Step]) -> int | None:
    """The highest rate whose p99 stays within the goal (and every lower one did too)."""
    within = None
    for step in sorted(steps, key=lambda s: s.rate):
        if step.percentile(0.99) > GOAL_P99_MS or step.missing or step.refused:
            break
        within = step.rate
    return within


def as_result(name: str, steps: list[Step]) -> Result:
    goal = steps[-1]
    return Result(name, "ms p99", [s.percentile(0.99) for s in steps],
                  {"steps": [s.summary() for s in steps], "goal_step": goal.summary(),
                   "highest_rate_within_50ms_p99": best_rate(steps)})


def print_steps(name: str, steps: list[Step]) -> None:
    print(f"  {name}")
    for s in steps:
        summary = s.summary()
        print(f"    {s.rate:>4}/s for {s.seconds:>3.0f} s: p50 {summary['p50_ms']:>8.1f}  p95 {summary['p95_ms']:>8.1f}"
              f"  p99 {summary['p99_ms']:>8.1f} ms   decided {summary['decided']}, missing {summary['missing']}"
              + (f", refused {s.refused}" if s.refused else ""))
        if s.cpu_ms_per_application:
            costs = sorted(s.cpu_ms_per_application.items(), key=lambda kv: -kv[1])
            print(f"      CPU per application {sum(s.cpu_ms_per_application.values()):.1f} ms: "
                  + ", ".join(f"{name} {ms:.1f}" for name, ms in costs if ms >= 0.5))
        if s.full_collections:
            print("      full collections: " + ", ".join(
                f"{name} {gc['count']} ({gc['ms']:.0f} ms, longest ≤ {gc['longest_within_ms']:.0f})"
                for name, gc in sorted(s.full_collections.items())))
    if steps and steps[-1].statements:
        print(f"    SQL at {steps[-1].rate}/s (pg_stat_statements), per application: calls, µs each, ms of execution")
        for row in steps[-1].statements:
            print(f"      {row['calls']:>6} {row['us_each']:>6} {row['ms']:>7.3f}  {row['query']}")
    print(f"    highest rate with p99 ≤ {GOAL_P99_MS:.0f} ms: {best_rate(steps)}/s")


async def run() -> list[Result]:
    async with scratch_topics() as prefix:
        baseline = await run_kafka_only(prefix, "bare", BARE)
        skeleton = await run_kafka_only(prefix, "skeleton", SKELETON)
        measured = await run_services(prefix)
    print_steps("bare relay over three hops", baseline)
    print_steps("the pipeline's Kafka traffic alone (five consumer groups, no services)", skeleton)
    print_steps("intake → evaluation → allocation", measured)
    return [as_result("bare aiokafka relay, three hops", baseline),
            as_result("the pipeline's Kafka traffic alone", skeleton),
            as_result("submit → decided (P3, five services)", measured)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"]:  # relay <group> <topic>[,...] <target or -> <fetch wait ms>, as a worker runs
        uvloop.run(relay(sys.argv[2], sys.argv[3].split(","), None if sys.argv[4] == "-" else sys.argv[4],
                         int(sys.argv[5])))
    elif sys.argv[1:2] == ["kafka-only"]:  # the bare relay and the Kafka traffic alone, without the services
        async def kafka_only() -> None:
            async with scratch_topics() as prefix:
                print_steps("bare relay over three hops", await run_kafka_only(prefix, "bare", BARE))
                print_steps("the pipeline's Kafka traffic alone", await run_kafka_only(prefix, "skeleton", SKELETON))
        uvloop.run(kafka_only())
    elif sys.argv[1:2] == ["profile"]:  # py-spy on every service process: BENCH_PIPELINE_PROFILE_S (20) at ..._RATE
        PROFILE_S = PROFILE_S or 20

        async def profile() -> None:
            async with scratch_topics() as prefix:
                await run_services(prefix)
        uvloop.run(profile())
    else:
        for r in uvloop.run(run()):
            print(r.name, statistics.median(r.samples), json.dumps(r.details, indent=1))
