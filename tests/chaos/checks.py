"""What must hold after the chaos, read through the services' APIs (and, for the outboxes, the schemas' rows)."""
from __future__ import annotations

import asyncio
import importlib
import itertools
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from chaos.load import Load

from contracts import topics
from support.auth import OPERATOR
from support.kafka import read_topic, wait_consumed
from support.stack import Stack, eventually

SERVICES = ("intake", "evaluation", "allocation", "telemetry", "billing")
UNSETTLED = {"draft", "submitted", "in_review", "scored", "selected", "accepted"}
HOLDING = {"active", "offered", "reclaimed", "released"}  # lapsed holds never held a GPU past their start


async def quiescent(urls: dict[str, str], stack: Stack, load: Load, *, timeout: float = 240) -> float:
    """Seconds until no application is mid-way, every outbox is sent and every consumer group is at the end."""
    started = time.monotonic()

    async def settled() -> bool:
        applications = await all_applications(urls, load)
        if any(a["status"] in UNSETTLED for a in applications.values()):
            return False
        unsent = sum([(await stack.fetch(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL"))[0][0]
                      for s in SERVICES])
        if unsent:
            return False
        try:
            for service in SERVICES:
                for topic in consumed_topics(service):
                    await wait_consumed(stack.infra.kafka_bootstrap, service, stack.topic(topic), timeout=1)
        except AssertionError:
            return False
        return True

    await eventually(settled, timeout=timeout, interval=1.0, what="the platform to settle")
    return round(time.monotonic() - started, 2)


def consumed_topics(service: str) -> set[str]:
    translations = importlib.import_module(f"{service}.entrypoints.consumer").TRANSLATIONS
    return {event.topic for event in translations}


async def all_applications(urls: dict[str, str], load: Load) -> dict[str, dict[str, Any]]:
    """Every partner's applications through intake's paginated list; a duplicate id fails at once."""
    found: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(timeout=15) as http:
        for partner in load.partners:
            cursor = None
            while True:
                params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                page = (await load.call(http, "GET", f"{urls['intake']}/applications", ok=(200,), params=params,
                                        headers=partner)).json()
                for application in page["items"]:
                    assert application["id"] not in found, f"application {application['id']} listed twice"
                    found[application["id"]] = application
                cursor = page["next_cursor"]
                if not cursor:
                    break
    return found


async def check_invariants(urls: dict[str, str], stack: Stack, load: Load, *, poison: bytes) -> dict[str, Any]:
    applications = await all_applications(urls, load)
    accepted = {a.application_id for a in load.accepted}
    assert len(accepted) == len(load.accepted), "one Idempotency-Key answered two applications"
    assert set(applications) == accepted, "intake holds other applications than the ones it accepted"

    allocations = await allocations_of(urls, load, accepted)
    statuses = defaultdict(int)
    for application_id, application in applications.items():
        agree(application["status"], [a["status"] for a in allocations[application_id]], application_id)
        statuses[application["status"]] += 1
    held = [a for found in allocations.values() for a in found if a["status"] in HOLDING]
    assert_no_gpu_held_twice(held)
    billed = await assert_billed_once(urls, load, held)

    parked = {topic: await records_on(stack, topics.dead_letter(stack.topic(topic))) for topic in topics.ALL}
    poisoned = {s for s in SERVICES if topics.SCORES in consumed_topics(s)}
    assert {t: n for t, n in parked.items() if n} == {topics.SCORES: len(poisoned)}, parked
    dead = await read_topic(stack.infra.kafka_bootstrap, topics.dead_letter(stack.topic(topics.SCORES)),
                            at_least=len(poisoned))
    assert all(record.value == poison for record in dead), [r.headers for r in dead]
    assert {dict(r.headers)["dlq_consumer"].decode() for r in dead} == poisoned
    return {"applications": len(applications), "statuses": dict(statuses), "allocations": len(held),
            "ledger_lines": billed, "parked": sum(parked.values())}


async def allocations_of(urls: dict[str, str], load: Load, ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    async with httpx.AsyncClient(timeout=15) as http:
        async def one(application_id: str) -> tuple[str, list[dict[str, Any]]]:
            response = await load.call(http, "GET", f"{urls['allocation']}/allocations", ok=(200,),
                                       params={"application_id": application_id}, headers=OPERATOR)
            return application_id, response.json()
        return dict(await asyncio.gather(*(one(i) for i in sorted(ids))))


def agree(status: str, allocation_statuses: list[str], application_id: str) -> None:
    """Intake's status and allocation's record of the same application tell one story."""
    holding = [s for s in allocation_statuses if s in ("active", "offered")]
    expected = {"active": ["active"], "offered": ["offered"]}.get(status, [])
    assert holding == expected, f"{application_id}: intake says {status}, allocation has {allocation_statuses}"
    if status == "reclaimed":
        assert "reclaimed" in allocation_statuses, f"{application_id}: reclaimed, allocation has none"
    assert status not in UNSETTLED, f"{application_id} is still {status}"


def assert_no_gpu_held_twice(held: list[dict[str, Any]]) -> None:
    periods: dict[tuple[str, int], list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for allocation in held:
        start = datetime.fromisoformat(allocation["starts_at"])
        end = datetime.fromisoformat(allocation["ended_at"] or allocation["ends_at"])
        for slot in allocation["slots"]:
            periods[(slot["server_id"], slot["gpu_index"])].append((start, end, allocation["id"]))
    for gpu, spans in periods.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            assert start >= end, f"GPU {gpu} held by {first} and {second} at once"


LEDGER_KEY = ("allocation_id", "payer_key", "csp", "period_start", "period_end", "gpus", "krw_per_gpu_hour",
              "share_pct")
SIGN = {"charge": 1, "reversal": -1}
MINUTE = timedelta(minutes=1)


async def assert_billed_once(urls: dict[str, str], load: Load, held: list[dict[str, Any]]) -> int:
    """Every allocation that held GPUs has ledger lines, no line key is charged twice (at any point of the ledger, a
    key's charges less its reversals are 0 or 1, and its net amount 0 or the amount it was last charged), and the
    standing lines of the government, which stand for every segment, cover GPUs x the whole minutes from the start
    to the end or the reclaim, once. Returns how many ledger lines there are."""
    lines = await whole_ledger(urls, load)
    by_allocation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_allocation[line["allocation_id"]].append(line)
    for allocation in held:
        if allocation["status"] == "offered":
            continue  # not granted yet: billing has nothing of it
        mine = by_allocation.get(allocation["id"], [])
        assert mine, f"allocation {allocation['id']} ({allocation['status']}) has no ledger line"
        standing_minutes = sum(line["gpus"] * whole_minutes(line["period_start"], line["period_end"])
                               for line in standing(mine) if line["payer_kind"] == "government")
        assert standing_minutes == len(allocation["slots"]) * billable_minutes(allocation), (allocation, mine)
    return len(lines)


async def whole_ledger(urls: dict[str, str], load: Load) -> list[dict[str, Any]]:
    """Every ledger line, in the order posted (an operator reads them all)."""
    lines: list[dict[str, Any]] = []
    after = 0
    async with httpx.AsyncClient(timeout=15) as http:
        while True:
            page = (await load.call(http, "GET", f"{urls['billing']}/ledger", ok=(200,),
                                    params={"after": after, "limit": 500}, headers=OPERATOR)).json()
            lines += page["items"]
            if page["next_after"] is None:
                return lines
            after = page["next_after"]


def standing(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines whose key stands (charged once more than reversed), failing if a key is ever charged twice, reversed
    uncharged, or nets to anything but its last charge (standing) or nothing."""
    count: dict[tuple[Any, ...], int] = defaultdict(int)
    net: dict[tuple[Any, ...], int] = defaultdict(int)
    charged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in sorted(lines, key=lambda line: line["id"]):
        key = tuple(line[k] for k in LEDGER_KEY)
        count[key] += SIGN[line["direction"]]
        net[key] += line["amount_krw"]
        assert count[key] in (0, 1), f"key {key} charged {count[key]} times at line {line['id']}"
        if line["direction"] == "charge":
            charged[key] = line
        assert net[key] == (charged[key]["amount_krw"] if count[key] else 0), f"key {key} nets {net[key]}"
    return [charged[key] for key, n in count.items() if n == 1]


def whole_minutes(start: str, end: str) -> int:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)) // MINUTE


def billable_minutes(allocation: dict[str, Any]) -> int:
    """The whole minutes from the allocation's start to its end or the minute it ended early (seconds dropped)."""
    start = datetime.fromisoformat(allocation["starts_at"]).replace(second=0, microsecond=0)
    end = datetime.fromisoformat(allocation["ends_at"])
    if allocation["ended_at"] is not None:
        end = min(end, datetime.fromisoformat(allocation["ended_at"]))
    return max((end.replace(second=0, microsecond=0) - start) // MINUTE, 0)


async def records_on(stack: Stack, topic: str) -> int:
    """How many records a topic of this test holds (its offsets start at 0)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.infra.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.infra.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        return sum((await consumer.end_offsets(partitions)).values()) if partitions else 0
    finally:
        await consumer.stop()
        await admin.close()
