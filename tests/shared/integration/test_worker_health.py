"""Health that tells the truth: a service is ready only while a worker of it is, and a worker says what is wrong."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx

from servicekit.runtime import prepare_topics
from servicekit.settings import WorkerSettings
from servicekit.worker import periodic
from support.infra import free_port
from support.stack import Stack, eventually

FAST = WorkerSettings(heartbeat_interval_s=0.1, stale_after_s=1.0)


async def readiness(api: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await api.get("/readyz")
    return response.status_code, response.json()


async def test_the_api_is_ready_only_while_a_worker_of_its_service_beats(stack: Stack) -> None:
    async with stack.api("billing", worker=FAST) as api:
        status, body = await readiness(api)
        assert (status, body["checks"]) == (503, {"database": True, "kafka": True, "workers": False})

        async with stack.worker("billing", worker=FAST):
            async def ready() -> dict[str, Any] | None:
                status, body = await readiness(api)
                return body if status == 200 else None
            # the answer that said ready is the one looked into: a later one may come after a beat a busy machine
            # delayed past `stale_after_s`
            body = await eventually(ready, what="the API to count the running worker")
            assert [w["working"] for w in body["workers"]] == [True]
            assert body["workers"][0]["dead_lettered"] == 0

        status, body = await readiness(api)  # a worker that stops says so on its way out
        assert (status, body["workers"]) == (503, [])


async def test_a_worker_that_died_without_a_word_stops_counting_once_its_beat_is_stale(stack: Stack) -> None:
    # staleness is judged by the database's clock, so the test ages the beat there instead of racing a short
    # `stale_after_s` against how long a loaded machine takes to start the API (CI once lost that race)
    settings = WorkerSettings(heartbeat_interval_s=0.1, stale_after_s=5.0)
    async with stack.api("billing", worker=settings) as api:
        await stack.fetch("INSERT INTO billing.worker_heartbeat (worker_id, started_at, beat_at, working, state) "
                          "VALUES ('killed', now(), now(), true, '{}')")
        status, body = await readiness(api)
        assert (status, body["checks"]) == (200, {"database": True, "kafka": True, "workers": True})
        assert [w["worker_id"] for w in body["workers"]] == ["killed"]

        await stack.fetch("UPDATE billing.worker_heartbeat SET beat_at = now() - interval '5.5 seconds' "
                          "WHERE worker_id = 'killed'")
        status, body = await readiness(api)
        assert (status, body["checks"]["workers"], body["workers"]) == (503, False, [])


async def test_the_worker_probe_says_alive_and_ready_and_names_a_part_that_keeps_failing(stack: Stack) -> None:
    port = free_port()
    settings = stack.settings("billing", worker=WorkerSettings(health_port=port, stale_after_s=0.5))
    await prepare_topics(settings)
    from billing.entrypoints.worker import create_worker

    async def broken() -> int:
        raise RuntimeError("the ledger is on fire")

    worker = create_worker(settings)
    task = asyncio.create_task(worker.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
            async def ready() -> bool:
                try:
                    return (await probe.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False
            await eventually(ready, what="the worker to join its group and say ready")
            assert (await probe.get("/healthz")).status_code == 200
            assert (await probe.get("/nowhere")).status_code == 404
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, timeout=30)

    worker = create_worker(settings)
    worker.jobs.append(periodic("doomed", 0.1, broken))
    task = asyncio.create_task(worker.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
            async def failing() -> dict[str, Any] | None:
                try:
                    response = await probe.get("/readyz")
                except httpx.TransportError:
                    return None
                body = response.json()
                named = any("doomed failing" in p for p in body["problems"])
                return body if response.status_code == 503 and named else None
            body = await eventually(failing, what="the failing job to make the worker not ready")
            assert any("the ledger is on fire" in p for p in body["problems"])
            assert body["working"] is False
            assert (await probe.get("/healthz")).status_code == 200  # alive: it keeps trying, nothing is stuck
            assert not task.done()
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, timeout=30)
