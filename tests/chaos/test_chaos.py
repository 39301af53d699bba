"""Chaos: the five services under a steady load of applications, withdrawals, offers and telemetry, while every
worker is killed with SIGKILL, the intake API dies mid-request, and the broker and PostgreSQL restart.

Afterwards, through the APIs: every accepted application exists exactly once, intake and allocation agree on every
status, no GPU was held twice at any time, every allocation that held GPUs is billed once (its ledger lines cover its
period, and no line is charged twice), the dead-letter topics hold only the poison the test put there, every process
is alive and no consumer lags. `make chaos` runs it at full size (CHAOS_APPLICATIONS, CHAOS_KILLS, CHAOS_REPLICAS);
`make test` runs a bounded size. The fault schedule, the counts and the recovery time after each fault are written to
.local/logs/e2e/<test>/chaos.json.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from chaos.checks import check_invariants, quiescent
from chaos.load import CSP_NAME, Load

from contracts import topics
from support.auth import OPERATOR, bearer
from support.infra import REPO, KafkaControl
from support.kafka import produce_raw
from support.processes import LOG_ROOT
from support.stack import Stack, eventually
from support.supervision import Supervisord, service_programs

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.timeout(int(os.environ.get("CHAOS_TIMEOUT_S", "1500")))]

APPLICATIONS = int(os.environ.get("CHAOS_APPLICATIONS", "36"))
KILLS = int(os.environ.get("CHAOS_KILLS", "1"))  # rounds of SIGKILLs
EVERY_REPLICA = os.environ.get("CHAOS_EVERY_REPLICA", "0") == "1"  # else one replica of each service a round
REPLICAS = [int(r) for r in os.environ.get("CHAOS_REPLICAS", "2").split(",")]
SERVICES = ("intake", "evaluation", "allocation", "telemetry", "billing")
# 8 H100s a server for requests of 4: room for about a fifth of the applications at once, so a waitlist forms, and
# reclaims and withdrawals free GPUs for offers
SERVERS = max(4, APPLICATIONS // 10)
POISON = b"\x00not an event"


@dataclass
class Cluster:
    supervisord: Supervisord
    urls: dict[str, str] = field(default_factory=dict)
    probes: list[str] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)


@pytest.fixture(params=REPLICAS, ids=lambda r: f"{r}-replicas")
async def cluster(stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    if stack.infra.container is not None:
        pytest.skip("restarts the local stack's broker and database")
    replicas = request.param
    log_dir = LOG_ROOT / request.node.name
    log_dir.mkdir(parents=True, exist_ok=True)
    # the CSP reports an allocation's first hour from its start, which may lie ahead of the clock (a day's skew)
    # or behind it (a day's lateness); an hour is enough to judge
    extra = {"KAFKA__TOPIC_PARTITIONS": str(2 * replicas), "TELEMETRY_POLICY__GRACE_DAYS": "0",
             "TELEMETRY_POLICY__MAX_CLOCK_SKEW_S": "86400", "TELEMETRY_POLICY__LATENESS_S": "86400",
             "TELEMETRY_POLICY__MIN_JUDGED_HOURS": "1"}
    with tempfile.TemporaryDirectory(prefix="chaos-") as state_dir:
        cluster = Cluster(Supervisord(Path(state_dir), log_dir))
        programs = []
        for service in SERVICES:
            env = {f"{service.upper()}_{k}" if k.startswith("KAFKA") else k: v for k, v in extra.items()}
            found, url, probes = service_programs(stack.infra, stack.database, stack.topic_prefix, service,
                                                  Path(state_dir), log_dir, workers=replicas, extra_env=env)
            programs += found
            cluster.urls[service] = url
            cluster.probes += probes
            cluster.workers += [p.name for p in found if "-worker" in p.name]
        try:
            await cluster.supervisord.start(programs)
            await all_ready(cluster, timeout=180)
            yield cluster
        finally:
            await cluster.supervisord.stop()


async def all_ready(cluster: Cluster, *, timeout: float = 120) -> float:
    """Seconds until every API and every worker probe answers ready."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=3) as http:
        async def ready() -> bool:
            try:
                answers = [await http.get(f"{u}/readyz") for u in [*cluster.urls.values(), *cluster.probes]]
            except httpx.TransportError:
                return False
            return all(a.status_code == 200 for a in answers)
        await eventually(ready, timeout=timeout, interval=0.25, what="every API and worker ready")
    return round(time.monotonic() - started, 2)


async def test_nothing_is_lost_duplicated_or_over_allocated_while_processes_and_infrastructure_fail(
        cluster: Cluster, stack: Stack, request: pytest.FixtureRequest) -> None:
    csp_id = await prepare_inventory(cluster.urls)
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.SCORES), POISON, key=b"poison")
    load = Load(cluster.urls, csp=bearer("csp", csp_id))  # the CSP's token names it by its inventory id
    clients = [asyncio.create_task(load.csp_reports()), asyncio.create_task(load.offer_answers())]
    submitting = asyncio.create_task(load.submissions(APPLICATIONS, interval_s=0.5))
    faults = await inflict_faults(cluster, stack, load)
    await submitting
    settled = await quiescent(cluster.urls, stack, load)
    load.stop.set()
    await asyncio.gather(*clients)
    await quiescent(cluster.urls, stack, load)

    summary = await check_invariants(cluster.urls, stack, load, poison=POISON)
    processes = await cluster.supervisord.processes()
    assert {p["name"]: p["statename"] for p in processes} == {p["name"]: "RUNNING" for p in processes}
    summary.update(faults=faults, settled_s=settled, counts=dict(load.counts), replicas=len(cluster.probes) // 5)
    (LOG_ROOT / request.node.name / "chaos.json").write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary, indent=2, default=str))


async def prepare_inventory(urls: dict[str, str]) -> str:
    """The CSP, its servers and their price; the CSP's id."""
    async with httpx.AsyncClient(timeout=15) as http:
        csp = await http.post(f"{urls['allocation']}/csps", json={"name": CSP_NAME}, headers=OPERATOR)
        assert csp.status_code == 201, csp.text
        for number in range(SERVERS):
            created = await http.post(f"{urls['allocation']}/servers", headers=OPERATOR, json={
                "csp": CSP_NAME, "name": f"p3-chaos-{number}", "region": "Daejeon", "gpu_model": "H100",
                "gpus": 8, "pool": "P3"})
            assert created.status_code == 201, created.text
        # from yesterday on (Korea's calendar): before any allocation of the test starts
        since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        price = await http.put(f"{urls['billing']}/market-prices/{CSP_NAME}/H100/{since}",
                               json={"krw_per_gpu_hour": 5200}, headers=OPERATOR)
        assert price.status_code == 200, price.text
    return str(csp.json()["id"])


async def inflict_faults(cluster: Cluster, stack: Stack, load: Load) -> list[dict[str, Any]]:
    """Each fault, then the time until every API and worker is ready again; the load runs all along."""
    schedule: list[tuple[str, Callable[[], Awaitable[None]]]] = []
    for round_ in range(KILLS):
        victims = cluster.workers if EVERY_REPLICA else [
            [w for w in cluster.workers if w.startswith(f"{s}-")][round_ % (len(cluster.probes) // 5)]
            for s in SERVICES]
        schedule += [(f"SIGKILL {name}", partial(kill, cluster, name)) for name in victims]
    schedule.insert(len(schedule) // 2, ("SIGKILL intake-api mid-request", partial(kill_mid_request, cluster, load)))
    schedule.append(("broker stopped 5 s", partial(restart_broker, stack)))
    schedule.append(("PostgreSQL restarted", restart_postgres))
    done = []
    for what, fault in schedule:
        at = time.monotonic()
        await fault()
        done.append({"fault": what, "recovered_s": await all_ready(cluster, timeout=240),
                     "took_s": round(time.monotonic() - at, 2)})
        await asyncio.sleep(1.0)
    return done


async def kill(cluster: Cluster, name: str) -> None:
    pid = (await cluster.supervisord.process(name))["pid"]
    os.kill(pid, signal.SIGKILL)

    async def replaced() -> bool:  # started again (supervisord counts it running only after its startsecs)
        return (await cluster.supervisord.process(name))["pid"] not in (0, pid)
    await eventually(replaced, timeout=60, interval=0.2, what=f"supervisord to restart {name}")


async def kill_mid_request(cluster: Cluster, load: Load) -> None:
    """A submission is on its way when the API dies; the client retries it with the same key."""
    async with httpx.AsyncClient(timeout=15) as http:
        pending = asyncio.create_task(load.submit(http, 10_000))
        await asyncio.sleep(0.02)
        await kill(cluster, "intake-api")
        await pending


async def restart_broker(stack: Stack) -> None:
    kafka = KafkaControl(stack.infra)
    await asyncio.to_thread(kafka.stop)
    await asyncio.sleep(5)
    await asyncio.to_thread(kafka.start)


async def restart_postgres() -> None:
    script = str(REPO / "deploy" / "local" / "postgres.sh")
    for action in ("stop", "start"):
        done = await asyncio.create_subprocess_exec("bash", script, action, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        assert await done.wait() == 0, f"postgres.sh {action} failed"
