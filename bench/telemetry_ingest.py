"""Telemetry's ingest throughput, end to end: samples a second from the HTTP request to the raw rows and their hourly
rollups (per GPU and per allocation) committed in PostgreSQL, through both doors, against a raw asyncpg COPY of the
same rows into a table of the same layout in the same run; then the bytes a sample and a rollup row take on disk.

The fleet: 250 servers x 8 = 2,000 GPUs sampled every 15 s (utilization, frame-buffer memory, power), 50 P3
allocations of 32 GPUs tracked (1,600 GPUs held, 400 free), on the real app in-process over ASGI (as intake_submit
does; the per-client rate limit off, as there) and the real database. The app's clock follows the data (each run is
dated after the one before, its clock a minute after its newest sample), so nothing is refused as late or from the
future, and every run stores new rows.

- COPY (the baseline): batches of 24,000 rows, one COPY each, into a plain table with the samples' columns and
  primary key; no rollup.
- the service's INSERT alone: its statement (samples, GPU-hours, RETURNING the new ones) with the same arrays straight
  through asyncpg, 24,000 rows a statement: what the SQL costs without HTTP, the domain or SQLAlchemy.
- NDJSON: POST /samples, batches of 24,000 lines (3 minutes of the fleet), one at a time, as a CSP's batch job.
- remote-write, large: POST /api/v1/write, 72,000 points a request (the three DCGM metrics of 24,000 samples; the
  door takes at most 100,000), one at a time.
- remote-write, Prometheus' defaults: 2,000 points a request (max_samples_per_send), each series on one of 4 shards
  (by a hash of its labels) sending in parallel (the most one CSP may have in flight,
  TELEMETRY_INGEST__MAX_IN_FLIGHT_PER_CSP), in time order within a shard, one TimeSeries per point, as Prometheus
  catches up from its WAL.

A remote-write request is counted by the samples it stored (its utilization points), as the others are; a memory or
power point whose utilization travelled in another request is counted `ignored` by the door, and that share is shown.
The modes take turns, one run each per round, after a warm-up. Then SPARSE_HOURS more hours at one instant an hour,
so that the rollups have rows to size; the worker's round closes the hours past the lateness, and the sizes on disk
are extrapolated to a year.

`python -m bench.telemetry_ingest --profile [ndjson | remote_write | remote_write_sharded]` profiles one run of a
door with pyinstrument instead (ndjson by default) and writes the profile under .local/bench/.
"""
from __future__ import annotations

import asyncio
import os
import struct
import sys
import uuid
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import asyncpg
import cramjam
import httpx
from fastapi import FastAPI

from bench.common import KAFKA, REPO, Result, clock, scratch_database
from servicekit.auth import Principal, TokenIssuer, generate_keypair
from servicekit.migrations import upgrade
from servicekit.settings import AuthSettings, DbSettings, KafkaSettings, RateLimitSettings
from telemetry.adapters.repository import INSERT_NEW_SAMPLES, array_literal, instants_literal
from telemetry.bootstrap import bootstrap
from telemetry.config import Settings
from telemetry.domain.commands import CloseHours, KeepPartitions, TrackAllocation
from telemetry.domain.model import Slot
from telemetry.entrypoints.api import create_app

MIGRATIONS = REPO / "services" / "telemetry" / "migrations"
SERVERS, GPUS_PER_SERVER, INTERVAL_S = 250, 8, 15
FLEET = [(f"bench-{s:03d}", i) for s in range(SERVERS) for i in range(GPUS_PER_SERVER)]
GPUS = len(FLEET)
ALLOCATIONS, SERVERS_PER_ALLOCATION = 50, 4  # 32 GPUs each: 1,600 GPUs held, the last 50 servers free
CSP = "bench-csp"
CSP_ID = uuid.UUID("b3c5e0d2-6a41-4f8e-9d27-1c0a5e7f3b64")  # the CSP's inventory id, which its token names
T0 = datetime(2026, 12, 1, tzinfo=UTC)
BATCH_STEPS = 12  # instants per large batch: 3 minutes of the fleet, 24,000 samples (72,000 remote-write points)
SHARDS, MAX_SAMPLES_PER_SEND = 4, 2000
RUNS = 5
UTIL, MEMORY, POWER = "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE"
METRICS = (UTIL, MEMORY, POWER)
COLUMNS = ("gpu_id", "ts", "utilization_pct", "memory_used_mib", "power_w")
NDJSON_HEADERS = {"Content-Type": "application/x-ndjson"}
REMOTE_WRITE_HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                        "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "Prometheus/2.53.4"}
YEAR_HOURS, RAW_RETENTION_DAYS = 8760, 3
# the repository's statement in asyncpg's terms; the GPUs are numbered in FLEET's order (checked in warm_up())
STATEMENT = INSERT_NEW_SAMPLES.text
for number, name in enumerate(("gpu_ids", "ts", "utilization_pcts", "memory_mibs", "power_ws", "in_use_pct"),
                              start=1):
    STATEMENT = STATEMENT.replace(f":{name}", f"${number}")
SPARSE_HOURS = 12  # loaded after the timed runs, one instant an hour, for the rollups' sizes


# --- the fleet's readings --------------------------------------------------------------------------------------------

def instant(step: int) -> datetime:
    return T0 + timedelta(seconds=step * INTERVAL_S)


def reading(gpu: int, step: int) -> tuple[float, float, float]:
    """Utilization %, memory MiB and power W of a GPU at an instant: varied, in range, the same on every door."""
    return (float((gpu * 37 + step * 11) % 91 + 5), float(8192 + (gpu * 97 + step * 13) % 70_000),
            100.0 + ((gpu * 53 + step * 7) % 600) * 0.5)


class Timeline:
    """Instants not sent yet: each run takes the next ones, so that every run stores new rows."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, steps: int) -> range:
        taken = range(self.next, self.next + steps)
        self.next += steps
        return taken


class BenchClock:
    """The app's "now": a minute after the newest instant sent (the lateness allows two hours, the skew five
    minutes)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def after(self, steps: range) -> None:
        self.now = instant(steps[-1]) + timedelta(minutes=1)


def ndjson_batch(steps: range) -> bytes:
    lines = []
    for step in steps:
        ts = instant(step).strftime("%Y-%m-%dT%H:%M:%SZ")
        for gpu, (server, index) in enumerate(FLEET):
            util, memory, power = reading(gpu, step)
            lines.append(f'{{"server":"{server}","gpu_index":{index},"ts":"{ts}","utilization_pct":{util},'
                         f'"memory_used_mib":{memory},"power_w":{power}}}\n')
    return "".join(lines).encode()


def copy_rows(steps: range) -> list[tuple[int, datetime, float, float, float]]:
    return [(gpu + 1, instant(step), *reading(gpu, step)) for step in steps for gpu in range(GPUS)]


# --- remote-write 1.0, encoded as Prometheus sends it: one TimeSeries per point, labels sorted -----------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _labels(gpu: int, metric: str) -> bytes:
    server, index = FLEET[gpu]
    labels = {"__name__": metric, "DCGM_FI_DRIVER_VERSION": "550.54.15", "Hostname": server, "UUID":
              f"GPU-{uuid.UUID(int=gpu + 1)}", "device": f"nvidia{index}", "gpu": str(index),
              "instance": f"{server}:9400", "job": "dcgm", "modelName": "NVIDIA H100 80GB HBM3",
              "pci_bus_id": f"00000000:{index + 0x18:02X}:00.0"}
    return b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode())) for k, v in sorted(labels.items()))


SERIES_LABELS = {(gpu, metric): _labels(gpu, metric) for gpu in range(GPUS) for metric in METRICS}
SHARD_OF = {key: zlib.crc32(labels) % SHARDS for key, labels in SERIES_LABELS.items()}

Point = tuple[int, str, int]  # gpu, metric, step


def points(steps: range) -> list[Point]:
    """The fleet's points in the order a Prometheus writes them to its WAL: instant by instant."""
    return [(gpu, metric, step) for step in steps for gpu in range(GPUS) for metric in METRICS]


@cache
def _timestamp(step: int) -> bytes:
    return b"\x10" + _varint(int(instant(step).timestamp() * 1000))


def write_request(batch: Iterable[Point]) -> bytes:
    parts = []
    for gpu, metric, step in batch:
        value = reading(gpu, step)[METRICS.index(metric)]
        sample = b"\x09" + struct.pack("<d", value) + _timestamp(step)
        parts.append(_field(1, SERIES_LABELS[gpu, metric] + _field(2, sample)))
    return bytes(cramjam.snappy.compress_raw(b"".join(parts)))


def sharded_requests(steps: range) -> list[list[bytes]]:
    """Each shard's requests, in the order it sends them: its series' points, MAX_SAMPLES_PER_SEND at a time."""
    queues: list[list[Point]] = [[] for _ in range(SHARDS)]
    for point in points(steps):
        queues[SHARD_OF[point[0], point[1]]].append(point)
    return [[write_request(queue[i:i + MAX_SAMPLES_PER_SEND]) for i in range(0, len(queue), MAX_SAMPLES_PER_SEND)]
            for queue in queues]


# --- the stack --------------------------------------------------------------------------------------------------------

@dataclass
class Bench:
    client: httpx.AsyncClient
    copy: asyncpg.Connection
    db: asyncpg.Connection
    now: BenchClock
    token: dict[str, str]
    settings: Settings
    served: Timeline = field(default_factory=Timeline)
    copied: Timeline = field(default_factory=Timeline)
    stored: int = 0  # samples the app said it stored
    stored_directly: int = 0  # samples the service's statement stored, run on its own
    # remote-write points received and counted `ignored` (memory or power whose utilization went in another
    # request), by request size
    points: Counter[int] = field(default_factory=Counter)
    ignored: Counter[int] = field(default_factory=Counter)


def allocations() -> list[TrackAllocation]:
    """P3 allocations (judged on the reclaim ladder) of whole servers, from T0 on, planned at 500 h a GPU a month."""
    gpus = SERVERS_PER_ALLOCATION * GPUS_PER_SERVER
    return [TrackAllocation(allocation_id=uuid.uuid4(), application_id=uuid.uuid4(), program="P3", gpus=gpus,
                            starts_at=T0, ends_at=T0 + timedelta(days=90), planned_gpu_hours_per_month=gpus * 500,
                            slots=tuple(Slot(server, index, CSP, csp_id=CSP_ID)
                                        for server, index in FLEET[a * gpus:(a + 1) * gpus]))
            for a in range(ALLOCATIONS)]


async def prepare(settings: Settings, dsn: str) -> None:
    """The allocations tracked and the day's partitions made, through telemetry's own bus (as its consumer and its
    worker would); the COPY target beside them."""
    runtime = bootstrap(settings, clock=lambda: T0)
    try:
        for cmd in [*allocations(), KeepPartitions(now=T0, retention_days=RAW_RETENTION_DAYS)]:
            await runtime.bus.handle(cmd, message_id=uuid.uuid4(), message_type="bench")
    finally:
        await runtime.aclose()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE SCHEMA bench_copy; "
                           "CREATE TABLE bench_copy.sample (LIKE telemetry.sample INCLUDING DEFAULTS); "
                           "ALTER TABLE bench_copy.sample ADD PRIMARY KEY (gpu_id, ts)")
    finally:
        await conn.close()


@asynccontextmanager
async def stack() -> AsyncIterator[Bench]:
    async with scratch_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        private_pem, public_pem = generate_keypair()
        auth = AuthSettings(private_key_pem=private_pem, public_keys_pem=[public_pem])
        # one CSP sends every batch: the per-client rate limit would measure itself, not the door
        settings = Settings(db=DbSettings(url=url), kafka=KafkaSettings(bootstrap_servers=KAFKA), auth=auth,
                            rate_limit=RateLimitSettings(enabled=False))
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        await prepare(settings, dsn)
        now = BenchClock()
        app: FastAPI = create_app(settings, clock=now)
        token = TokenIssuer.from_settings(auth).issue(Principal.of("bench-prometheus", "csp", str(CSP_ID))).token
        copy, db = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        try:
            async with (app.router.lifespan_context(app),
                        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://telemetry",
                                          timeout=120) as client):
                yield Bench(client, copy, db, now, {"Authorization": f"Bearer {token}"}, settings)
        finally:
            await copy.close()
            await db.close()


# --- one run of each mode: samples stored a second ------------------------------------------------------------------

def batches(timeline: Timeline, instants: int) -> list[range]:
    """The run's next instants, BATCH_STEPS to a batch (the last one may hold fewer)."""
    taken = timeline.take(instants)
    return [taken[i:i + BATCH_STEPS] for i in range(0, instants, BATCH_STEPS)]


async def copy_run(b: Bench, instants: int) -> float:
    rows = [copy_rows(steps) for steps in batches(b.copied, instants)]
    start = clock()
    for batch in rows:
        await b.copy.copy_records_to_table("sample", schema_name="bench_copy", records=batch, columns=COLUMNS)
    return instants * GPUS / (clock() - start)


async def statement_run(b: Bench, instants: int) -> float:
    """The service's own statement (samples, their GPU-hours and allocation-hours, counted) on its own, straight
    through asyncpg with the same array literals the repository sends: no HTTP, no domain, no SQLAlchemy."""
    literals = []
    for steps in batches(b.served, instants):
        gpu_ids, ts, util, memory, power = zip(*copy_rows(steps), strict=True)
        literals.append((array_literal(gpu_ids), instants_literal(ts), array_literal(util), array_literal(memory),
                         array_literal(power)))
    start = clock()
    stored = 0
    for columns in literals:
        stored += (await b.copy.fetchrow(STATEMENT, *columns, 5.0))["stored"]
    elapsed = clock() - start
    assert stored == instants * GPUS, stored
    b.stored_directly += stored
    return stored / elapsed


def ndjson_batches(b: Bench, instants: int) -> list[bytes]:
    steps = batches(b.served, instants)
    b.now.after(steps[-1])
    return [ndjson_batch(s) for s in steps]


async def send_ndjson(b: Bench, bodies: Sequence[bytes]) -> int:
    headers = {**NDJSON_HEADERS, **b.token}
    stored = 0
    for body in bodies:
        response = await b.client.post("/samples", content=body, headers=headers)
        assert response.status_code == 202, response.text
        counted = response.json()
        assert counted["duplicates"] == counted["refused_late"] == 0, counted
        stored += counted["accepted"]
    return stored


async def ndjson_run(b: Bench, instants: int) -> float:
    bodies = ndjson_batches(b, instants)
    start = clock()
    stored = await send_ndjson(b, bodies)
    elapsed = clock() - start
    assert stored == instants * GPUS, stored
    b.stored += stored
    return stored / elapsed


async def _remote_write(b: Bench, bodies: Sequence[bytes]) -> int:
    stored = 0
    for body in bodies:
        response = await b.client.post("/api/v1/write", content=body, headers={**REMOTE_WRITE_HEADERS, **b.token})
        assert response.status_code == 200, response.text
        counted = response.json()
        assert counted["refused_future"] == counted["duplicates"] == counted["unmapped"] == 0, counted
        stored += counted["accepted"]
        size = MAX_SAMPLES_PER_SEND if counted["received"] <= MAX_SAMPLES_PER_SEND else BATCH_STEPS * GPUS * 3
        b.points[size] += counted["received"]
        b.ignored[size] += counted["ignored"]
    return stored


def remote_write_requests(b: Bench, instants: int) -> list[bytes]:
    steps = batches(b.served, instants)
    b.now.after(steps[-1])
    return [write_request(points(s)) for s in steps]


async def remote_write_run(b: Bench, instants: int) -> float:
    bodies = remote_write_requests(b, instants)
    start = clock()
    stored = await _remote_write(b, bodies)
    elapsed = clock() - start
    assert stored == instants * GPUS, stored
    b.stored += stored
    return stored / elapsed


def shards_of(b: Bench, instants: int) -> list[list[bytes]]:
    steps = b.served.take(instants)
    b.now.after(steps)
    return sharded_requests(steps)


async def send_sharded(b: Bench, shards: Sequence[Sequence[bytes]]) -> int:
    return sum(await asyncio.gather(*(_remote_write(b, requests) for requests in shards)))


async def sharded_run(b: Bench, instants: int) -> float:
    shards = shards_of(b, instants)
    start = clock()
    stored = await send_sharded(b, shards)
    elapsed = clock() - start
    assert stored == instants * GPUS, stored
    b.stored += stored
    return stored / elapsed


@dataclass(frozen=True)
class Mode:
    run: Callable[[Bench, int], Awaitable[float]]
    instants: int  # a run's instants of the fleet (2,000 samples each)


MODES = {
    f"raw asyncpg COPY, {BATCH_STEPS * GPUS // 1000}k-row batches, no rollup": Mode(copy_run, 4 * BATCH_STEPS),
    f"its INSERT alone via asyncpg, {BATCH_STEPS * GPUS // 1000}k-row batches": Mode(statement_run, 2 * BATCH_STEPS),
    f"POST /samples NDJSON, {BATCH_STEPS * GPUS // 1000}k-line batches": Mode(ndjson_run, 2 * BATCH_STEPS),
    f"POST /api/v1/write, {BATCH_STEPS * GPUS * 3 // 1000}k-point requests": Mode(remote_write_run, BATCH_STEPS),
    f"POST /api/v1/write, 2k-point requests x {SHARDS} shards": Mode(sharded_run, 4),
}


# --- storage ---------------------------------------------------------------------------------------------------------

SIZES = """
    SELECT (SELECT count(*) FROM telemetry.sample) AS sample_rows,
           (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits
            WHERE inhparent = 'telemetry.sample'::regclass) AS sample_bytes,
           (SELECT count(*) FROM telemetry.gpu_hour) AS gpu_hour_rows,
           pg_total_relation_size('telemetry.gpu_hour') AS gpu_hour_bytes,
           (SELECT count(*) FROM telemetry.allocation_hour) AS allocation_hour_rows,
           pg_total_relation_size('telemetry.allocation_hour') AS allocation_hour_bytes,
           (SELECT count(*) FROM bench_copy.sample) AS copy_rows,
           pg_total_relation_size('bench_copy.sample') AS copy_bytes"""


async def committed(b: Bench) -> None:
    """What the app answered is in the database: every sample, and each one summed once into its GPU's hour and,
    on a held GPU, into its allocation's."""
    held = ALLOCATIONS * SERVERS_PER_ALLOCATION * GPUS_PER_SERVER
    row = await b.db.fetchrow("SELECT (SELECT count(*) FROM telemetry.sample) AS raw, "
                              "(SELECT sum(samples) FROM telemetry.gpu_hour) AS per_gpu, "
                              "(SELECT sum(samples) FROM telemetry.allocation_hour) AS per_allocation")
    assert row["raw"] == row["per_gpu"] == b.stored + b.stored_directly, dict(row)
    assert row["per_allocation"] == (b.stored + b.stored_directly) * held // GPUS, dict(row)


async def day_fraction(b: Bench) -> None:
    """SPARSE_HOURS more hours of the fleet, one instant an hour (through the NDJSON door), so that the rollups have
    rows enough to be sized."""
    hour = 3600 // INTERVAL_S
    first = (b.served.next // hour + 1) * hour
    for step in range(first, first + SPARSE_HOURS * hour, hour):
        b.now.after(range(step, step + 1))
        b.stored += await send_ndjson(b, [ndjson_batch(range(step, step + 1))])
    b.served.next = first + SPARSE_HOURS * hour


async def close_hours(b: Bench) -> None:
    """The worker's round: the hours past the lateness closed (their p95 computed, out of the open-hours index)."""
    runtime = bootstrap(b.settings, clock=b.now)
    try:
        await runtime.bus.handle(CloseHours(now=b.now(), limit=10_000_000))
    finally:
        await runtime.aclose()


async def storage(b: Bench) -> dict[str, Any]:
    loaded = {k: int(v) for k, v in (await b.db.fetchrow(SIZES)).items()}
    await close_hours(b)
    # the rollups are updated in place by every batch: their dead row versions are reused once vacuumed
    for table in ("telemetry.gpu_hour", "telemetry.allocation_hour"):
        await b.db.execute(f"VACUUM FULL {table}")
    compact = {k: int(v) for k, v in (await b.db.fetchrow(SIZES)).items()}
    per_row = {
        "sample": loaded["sample_bytes"] / loaded["sample_rows"],
        "copy_table_sample": loaded["copy_bytes"] / loaded["copy_rows"],
        "gpu_hour_as_loaded": loaded["gpu_hour_bytes"] / loaded["gpu_hour_rows"],
        "gpu_hour": compact["gpu_hour_bytes"] / compact["gpu_hour_rows"],
        "allocation_hour_as_loaded": loaded["allocation_hour_bytes"] / loaded["allocation_hour_rows"],
        "allocation_hour": compact["allocation_hour_bytes"] / compact["allocation_hour_rows"],
    }
    raw_rows = GPUS * 86_400 // INTERVAL_S * RAW_RETENTION_DAYS
    year = {"raw_3_days": raw_rows * per_row["sample"], "gpu_hour_year": GPUS * YEAR_HOURS * per_row["gpu_hour"],
            "allocation_hour_year": ALLOCATIONS * YEAR_HOURS * per_row["allocation_hour"]}
    year["total"] = sum(year.values())
    print_storage(loaded, per_row, raw_rows, year)
    return {"loaded": loaded, "bytes_per_row": per_row, "year_bytes": year}


def print_storage(loaded: dict[str, Any], per_row: dict[str, float], raw_rows: int, year: dict[str, float]) -> None:
    gib = 2**30
    print(f"\nstorage: {loaded['sample_rows']:,} samples (the timed runs, then {SPARSE_HOURS} h at one instant an "
          f"hour), {loaded['gpu_hour_rows']:,} GPU-hours, {loaded['allocation_hour_rows']:,} allocation-hours")
    print(f"  raw sample (partitions, primary key)    {per_row['sample']:6.1f} B/sample  "
          f"(the COPY table: {per_row['copy_table_sample']:.1f})")
    print(f"  gpu_hour, closed and compact            {per_row['gpu_hour']:6.1f} B/row     "
          f"(as loaded, open, dead versions of each update: {per_row['gpu_hour_as_loaded']:.1f})")
    print(f"  allocation_hour, closed and compact     {per_row['allocation_hour']:6.1f} B/row     "
          f"(as loaded: {per_row['allocation_hour_as_loaded']:.1f})")
    print(f"  a year of {GPUS:,} GPUs at {INTERVAL_S} s, {ALLOCATIONS} allocations:")
    for what, key in ((f"raw, {RAW_RETENTION_DAYS} days kept ({raw_rows / 1e6:.2f} M samples)", "raw_3_days"),
                      (f"gpu_hour, a year ({GPUS * YEAR_HOURS / 1e6:.2f} M rows)", "gpu_hour_year"),
                      (f"allocation_hour, a year ({ALLOCATIONS * YEAR_HOURS / 1e3:.0f} k rows)",
                       "allocation_hour_year"),
                      ("total", "total")):
        print(f"    {what:<44} {year[key] / gib:7.2f} GiB")


# --- the benchmark ---------------------------------------------------------------------------------------------------

async def warm_up(b: Bench) -> None:
    """The app's first requests, one instant of the fleet each, the NDJSON door's first: it numbers the GPUs, in
    FLEET's order, which the statement run on its own relies on."""
    await ndjson_run(b, 1)
    numbered = [(r["server_name"], r["gpu_index"])
                for r in await b.db.fetch("SELECT server_name, gpu_index FROM telemetry.gpu ORDER BY gpu_id")]
    assert numbered == FLEET and await b.db.fetchval("SELECT min(gpu_id) FROM telemetry.gpu") == 1
    for mode in MODES.values():
        await mode.run(b, 1)


async def run() -> list[Result]:
    load = [os.getloadavg()[0]]
    async with stack() as b:
        await warm_up(b)
        samples: dict[str, list[float]] = {name: [] for name in MODES}
        for _ in range(RUNS):  # the modes take turns, so that whatever else the machine does weighs on each alike
            for name, mode in MODES.items():
                samples[name].append(await mode.run(b, mode.instants))
        load.append(os.getloadavg()[0])
        await day_fraction(b)
        await committed(b)
        ignored = {size: b.ignored[size] / b.points[size] for size in sorted(b.points)}
        details = {"storage": await storage(b), "remote_write_ignored_share_by_request_points": ignored,
                   "load_average_1min": load, "cpus": os.cpu_count()}
    for size, share in ignored.items():
        print(f"  remote-write, {size:,}-point requests: {share:.1%} of the points counted `ignored` (memory or "
              f"power whose utilization went in another request)")
    print(f"  load average (1 min) at the start and the end of the timed runs: {load[0]:.2f}, {load[1]:.2f} "
          f"on {os.cpu_count()} CPUs")
    results = [Result(name, "samples/s", runs) for name, runs in samples.items()]
    results[0].details.update(details)  # the benchmark's own figures, kept beside its baseline
    return results


# --- the profile: one run of a door under pyinstrument -----------------------------------------------------------

STEPS_OF_INTEREST = {  # (function, file): what it stands for, timed inclusive of what it awaits
    ("post", "_client.py"): "the requests, end to end (httpx in-process)",
    ("post_samples", "routes.py"): "  the NDJSON route",
    ("read_samples", "ndjson.py"): "    read + parse + validate the lines (pydantic), build Samples",
    ("remote_write", "routes_remote_write.py"): "  the remote-write route",
    ("read_series", "remote_write.py"): "    read + snappy + protobuf decode, label dicts",
    ("readings", "dcgm.py"): "    DCGM series to samples",
    ("_named", "handlers.py"): "    host names (UUIDs, host mapping, renamed samples)",
    ("record_samples", "handlers.py"): "    the handler, its statements included",
    ("owners", "repository.py"): "      servers' owners (SELECT)",
    ("triage", "model.py"): "      triage (late, future, foreign)",
    ("ensure", "repository_usage.py"): "      partitions (SELECT pg_inherits)",
    ("add_new", "repository.py"): "      GPU ids + INSERT samples and gpu_hour (one statement)",
    ("holding", "repository.py"): "      allocations holding the GPUs (SELECT ... FOR UPDATE)",
    ("tally", "model.py"): "      per-allocation tallies (Python)",
    ("add", "repository_usage.py"): "      INSERT allocation_hour",
    ("evaluate", "ladder.py"): "      the ladder's evaluation, per allocation",
    ("held_by_none", "model.py"): "      samples no allocation held (Python)",
    ("commit", "uow.py"): "    commit",
}


def _key(frame: Any) -> tuple[str, str]:
    return frame.function, (frame.file_path or "").rsplit("/", 1)[-1]


def _name(frame: Any) -> str:
    where = "<built-in>" if frame.file_path_short == "<built-in>" else f"{frame.file_path_short}:{frame.line_no}"
    return f"{frame.class_name + '.' if frame.class_name else ''}{frame.function}  {where}"


def _self_times(frame: Any, totals: dict[str, float], owner: str = "") -> None:
    """Time spent in each function itself (pyinstrument's [self] and [await] leaves charged to the function they
    stand under; [await] apart: what the function waited for, the database's answers among them)."""
    if frame.is_synthetic:
        key = f"{'waiting in ' if frame.identifier.startswith('[await]') else ''}{owner}"
    else:
        key = owner = _name(frame)
    totals[key] = totals.get(key, 0.0) + frame.time - sum(child.time for child in frame.children)
    for child in frame.children:
        _self_times(child, totals, owner)


def _inclusive(frame: Any, totals: dict[tuple[str, str], float],
               open_: frozenset[tuple[str, str]] = frozenset()) -> None:
    if (key := _key(frame)) in STEPS_OF_INTEREST and key not in open_:
        totals[key] = totals.get(key, 0.0) + frame.time
        open_ = open_ | {key}
    for child in frame.children:
        _inclusive(child, totals, open_)


PROFILED: dict[str, tuple[Callable[[Bench, int], Any], Callable[[Bench, Any], Awaitable[int]], int]] = {
    "ndjson": (ndjson_batches, send_ndjson, 2 * BATCH_STEPS),
    "remote_write": (remote_write_requests, _remote_write, BATCH_STEPS),
    "remote_write_sharded": (shards_of, send_sharded, 4)}


async def profile(door: str) -> None:
    """One run of a door (its requests made beforehand, not profiled), after a warm-up, under pyinstrument: where
    the time goes, awaits (the database's answers among them) charged to what awaited them."""
    from pyinstrument import Profiler  # a dev dependency, needed only here

    make, send, instants = PROFILED[door]
    async with stack() as b:
        await send(b, make(b, 1))
        bodies = make(b, instants)
        profiler = Profiler(interval=0.0005, async_mode="enabled")
        profiler.start()
        start = clock()
        stored = await send(b, bodies)
        elapsed = clock() - start
        profiler.stop()
    out = REPO / ".local" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"telemetry_ingest_{door}.html").write_text(profiler.output_html())
    (out / f"telemetry_ingest_{door}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
    root = profiler.last_session.root_frame()
    inclusive: dict[tuple[str, str], float] = {}
    _inclusive(root, inclusive)
    own: dict[str, float] = {}
    _self_times(root, own)
    print(f"\n{door} profiled: {stored:,} samples, {stored / elapsed:,.0f} samples/s "
          f"under the profiler; {root.time:.2f} s sampled; profile in {out}")
    for key, what in STEPS_OF_INTEREST.items():
        if key in inclusive:
            print(f"  {what:<62} {inclusive[key]:6.2f} s  {inclusive[key] / root.time:6.1%}")
    print("  top self time:")
    for key, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:25]:
        print(f"    {seconds:6.2f} s  {seconds / root.time:6.1%}  {key}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or sys.argv[1] != "--profile" or not set(sys.argv[2:]) <= set(PROFILED):
        sys.exit(f"python -m bench.telemetry_ingest --profile [{' | '.join(PROFILED)}]   (the benchmark itself: "
                 "python -m bench telemetry_ingest)")
    asyncio.run(profile(sys.argv[2] if sys.argv[2:] else "ndjson"))
