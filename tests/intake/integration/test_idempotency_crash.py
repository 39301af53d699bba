"""`Idempotency-Key` across a crash, with intake's api as a real process: killed right after a keyed request's commit,
before it answered, the restarted api replays the committed answer to the client's retry and runs nothing twice."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from intake.entrypoints.idempotency import CRASH_EXIT_CODE
from support.processes import ServiceProcesses
from support.stack import Stack


@pytest.fixture
async def processes(stack: Stack) -> AsyncIterator[ServiceProcesses]:
    started = ServiceProcesses(stack.infra, stack.database, stack.topic_prefix)
    try:
        yield started
    finally:
        await started.stop()


async def test_a_retry_after_the_api_died_between_its_commit_and_its_answer_gets_that_answer_and_one_application(
        stack: Stack, processes: ServiceProcesses, a_form: Callable[..., dict[str, Any]], partner: dict[str, str],
        request: pytest.FixtureRequest) -> None:
    name, body, keyed = request.node.name, a_form("P3"), {**partner, "Idempotency-Key": "crash-1"}
    url = await processes.start_api("intake", name, INTAKE_IDEMPOTENCY__TEST_CRASH_AFTER_COMMIT="true")
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        with pytest.raises(httpx.TransportError):  # the connection drops: the client never learns the outcome
            await client.post("/applications", json=body, headers=keyed)
    assert await processes.exited("intake") == CRASH_EXIT_CODE
    [committed] = await stack.fetch("SELECT id FROM intake.application")
    # retried after the in-flight timeout: a key left in flight would let the retry submit a second application
    url = await processes.start_api("intake", name, INTAKE_IDEMPOTENCY__IN_FLIGHT_TIMEOUT_S="0.2")
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        retry = await client.post("/applications", json=body, headers=keyed)
        stored = (await client.get(f"/applications/{committed['id']}", headers=partner)).json()
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == {**stored, "history": []}  # the answer the first request built, for the one it stored
    assert await stack.count("intake.application") == 1
    assert await stack.count("intake.outbox") == 1
