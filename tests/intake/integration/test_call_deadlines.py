"""Calls close themselves: the worker closes every call whose `closes_at` has passed, as an operator's close would
(the same CallClosed, once), on the real database and broker."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import CallClosed, from_record, topics
from intake.config import CallSettings
from support.auth import OPERATOR
from support.clock import ManualClock
from support.kafka import read_topic
from support.stack import Stack, eventually

Form = Callable[..., dict[str, Any]]
OpenCall = Callable[..., Awaitable[dict[str, Any]]]
QUICKLY = CallSettings(close_interval_s=0.05)


def closing_in(hours: float) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"opens_at": (now - timedelta(hours=1)).isoformat(), "closes_at": (now + timedelta(hours=hours)).isoformat()}


async def call_status(stack: Stack, call_id: str) -> str:
    return str((await stack.fetch("SELECT status FROM intake.call WHERE id = $1::uuid", call_id))[0]["status"])


async def test_the_worker_closes_an_overdue_call_and_publishes_its_round_once(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        overdue = await open_call(api, "P1", **closing_in(hours=1))
        later = await open_call(api, "P1", **closing_in(hours=48))
        submitted = await api.post("/applications", json=a_form("P1", call_id=overdue["id"]), headers=partner)
        assert submitted.status_code == 201, submitted.text
    two_hours_on = ManualClock(datetime.now(UTC) + timedelta(hours=2))
    async with stack.worker("intake", clock=two_hours_on, calls=QUICKLY):
        await eventually(lambda: _closed(stack, overdue["id"]), what="the overdue call to be closed")
        await asyncio.sleep(0.5)  # ten more rounds of the job
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.CALLS), at_least=2, timeout=3)
    (record,) = records
    event = from_record(record.headers, record.value)
    assert isinstance(event, CallClosed)
    assert (str(event.call_id), [str(a) for a in event.application_ids]) == (overdue["id"],
                                                                            [submitted.json()["id"]])
    assert await call_status(stack, later["id"]) == "open"
    rows = await stack.fetch("SELECT closed_at FROM intake.call WHERE id = $1::uuid", overdue["id"])
    assert rows[0]["closed_at"] == two_hours_on.now
    assert await stack.count("intake.outbox") == 2  # the application's submission and the one CallClosed


async def test_an_operator_still_closes_a_call_early_and_the_worker_leaves_it_closed(
        stack: Stack, open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2", **closing_in(hours=1))
        early = await api.post(f"/calls/{call['id']}/close", headers=OPERATOR)
    assert early.status_code == 200, early.text
    async with stack.worker("intake", clock=ManualClock(datetime.now(UTC) + timedelta(hours=2)), calls=QUICKLY):
        await asyncio.sleep(0.5)
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.CALLS), at_least=2, timeout=3)
    assert len(records) == 1
    rows = await stack.fetch("SELECT closed_at FROM intake.call WHERE id = $1::uuid", call["id"])
    assert rows[0]["closed_at"] == datetime.fromisoformat(early.json()["closed_at"])


async def _closed(stack: Stack, call_id: str) -> bool:
    return await call_status(stack, call_id) == "closed"
