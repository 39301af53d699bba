"""Allocation's fixtures: its runtime on the test database, events produced to and read from the real broker."""
from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from allocation import demo
from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.bootstrap import bootstrap
from allocation.domain.commands import ConfirmEligibility
from contracts import ApplicationScored, CspRegistered, Event, from_record, to_record, topics
from servicekit.runtime import Runtime
from support.auth import OPERATOR
from support.kafka import produce_raw, read_topic
from support.stack import Stack

Publish = Callable[[Event], Awaitable[None]]


def scored(**overrides: Any) -> ApplicationScored:
    """A scored P3 application: 4 H100 GPUs for December 2026 to February 2027."""
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), program="P3", score=81.5, policy_version="2026.1", institution="KAIST",
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
        planned_gpu_hours_per_month=2000,
    )
    return ApplicationScored(**{**fields, **overrides})


@pytest.fixture
def an_application_scored() -> Callable[..., ApplicationScored]:
    return scored


@pytest.fixture
async def runtime(stack: Stack) -> AsyncIterator[Runtime[SqlAllocationUnitOfWork]]:
    """Allocation's real bus and unit of work on the test's database."""
    found = bootstrap(stack.settings("allocation"))
    yield found
    await found.aclose()


@pytest.fixture
def publish(stack: Stack) -> Publish:
    """Produce an event the way its owner's relay does: a CloudEvents record on the (prefixed) topic."""

    async def produce(event: Event) -> None:
        record = to_record(event, source="/gpu-platform/tests")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                          headers=record.headers)

    return produce


@pytest.fixture
def published(stack: Stack) -> Callable[..., Awaitable[list[Event]]]:
    """The events allocation has published on `allocation.allocations.v1`, once at least `at_least` are there; the
    seeded CSPs' announcements (CspRegistered) are left out, and not counted."""

    async def read(at_least: int = 1, timeout: float = 30.0) -> list[Event]:
        deadline, wanted = time.monotonic() + timeout, at_least
        while True:
            records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.ALLOCATIONS),
                                       at_least=wanted, timeout=max(0.1, deadline - time.monotonic()))
            events = [e for r in records if (e := from_record(r.headers, r.value)) is not None]
            found = [e for e in events if not isinstance(e, CspRegistered)]
            if len(found) >= at_least or time.monotonic() >= deadline:
                return found
            wanted = len(events) + at_least - len(found)

    return read


@pytest.fixture
def query(stack: Stack) -> Callable[..., Awaitable[list[asyncpg.Record]]]:
    return stack.fetch


@pytest.fixture
def confirm_awards(stack: Stack) -> Callable[[Any], Awaitable[int]]:
    """Evaluation's answer to every award re-check still awaited (a round's selected, held): eligible, through the
    bus given. Returns how many it confirmed."""

    async def confirm(bus: Any) -> int:
        awaiting = await stack.fetch("SELECT id, application_id FROM allocation.offer WHERE kind = 'award' "
                                     "AND state = 'awaiting_recheck' ORDER BY requested_at, application_id")
        for row in awaiting:
            await bus.handle(ConfirmEligibility(row["application_id"], row["id"], datetime.now(UTC)))
        return len(awaiting)

    return confirm


async def register_p3_pool(api: httpx.AsyncClient) -> None:
    """The demo's P3 pool (4 servers x 8 H100), registered through the operator API."""
    for name in demo.CSPS:
        assert (await api.post("/csps", json={"name": name}, headers=OPERATOR)).status_code == 201
    for spec in demo.P3_SERVERS:
        response = await api.post("/servers", json=vars(spec), headers=OPERATOR)
        assert response.status_code == 201, response.text


@pytest.fixture
def seed_p3_via_api() -> Callable[[httpx.AsyncClient], Awaitable[None]]:
    return register_p3_pool
