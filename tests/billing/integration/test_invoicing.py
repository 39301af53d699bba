"""Billing on the real broker and database: events in through Kafka, invoices out through the API and Kafka."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from billing.config import InvoicingSettings, PayerSettings
from contracts import Event, GpuSlot, ResourceAllocated, ResourceReclaimed, UsageRecorded, to_record
from support.auth import OPERATOR
from support.clock import ManualClock
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually

SOURCES = {ResourceAllocated: "/gpu-platform/allocation", ResourceReclaimed: "/gpu-platform/allocation",
           UsageRecorded: "/gpu-platform/telemetry"}


def this_minute() -> datetime:
    """Now, to the whole minute, so that periods are whole numbers of hours."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def allocated(*, starts_at: datetime, hours: float, **overrides: Any) -> ResourceAllocated:
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program="P1", gpu_model="H100", gpus=4,
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), planned_gpu_hours_per_month=1000,
    )
    fields.update(overrides)
    server_id = uuid.uuid4()
    fields["slots"] = [GpuSlot(server_id=server_id, server_name="srv-01", csp="csp-a", gpu_index=i)
                       for i in range(fields["gpus"])]
    return ResourceAllocated(**fields)


def reclaimed(allocation: ResourceAllocated, at: datetime) -> ResourceReclaimed:
    return ResourceReclaimed(application_id=allocation.application_id, allocation_id=allocation.allocation_id,
                             gpus=allocation.gpus, reason="low_utilization", reclaimed_at=at)


async def deliver(stack: Stack, *events: Event) -> None:
    """Write each event to its topic as its producer would: same key (the application id), CloudEvents headers."""
    for event in events:
        record = to_record(event, source=SOURCES[type(event)])
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                          headers=record.headers)


async def invoices_of(api: httpx.AsyncClient, application_id: uuid.UUID) -> list[dict[str, Any]]:
    response = await api.get("/invoices", params={"application_id": str(application_id)}, headers=OPERATOR)
    assert response.status_code == 200, response.text
    return list(response.json())


async def first_invoice(api: httpx.AsyncClient, application_id: uuid.UUID) -> dict[str, Any]:
    found = await eventually(lambda: invoices_of(api, application_id), what=f"an invoice for {application_id}")
    return found[0]


async def account_of(api: httpx.AsyncClient, allocation_id: uuid.UUID) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await api.get(f"/accounts/{allocation_id}", headers=OPERATOR)
        return dict(response.json()) if response.status_code == 200 else None
    return await eventually(probe, what=f"the account of allocation {allocation_id}")



async def test_an_allocation_reclaimed_through_kafka_is_invoiced_with_the_right_totals(stack: Stack) -> None:
    start = this_minute() - timedelta(days=1)
    allocation = allocated(starts_at=start, hours=30 * 24)
    async with stack.api("billing") as api, stack.worker("billing"):
        await deliver(stack, allocation, reclaimed(allocation, start + timedelta(hours=10, minutes=30)))
        invoice = await first_invoice(api, allocation.application_id)
        fetched = (await api.get(f"/invoices/{invoice['id']}", headers=OPERATOR)).json()
        account = await account_of(api, allocation.allocation_id)
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic("billing.invoices.v1"))
    # 4 GPUs x 10.5 h = 42 GPU-hours x 4,000 KRW = 168,000 KRW; P1 pays 30%
    assert Decimal(invoice["gpu_hours"]) == Decimal(42)
    assert (invoice["krw_per_gpu_hour"], invoice["market_value_krw"], invoice["payable_krw"]) == (4000, 168_000, 50_400)
    assert fetched == invoice
    assert datetime.fromisoformat(invoice["period_end"]) == start + timedelta(hours=10, minutes=30)
    assert account["status"] == "invoiced"
    headers = {k: v.decode() for k, v in records[0].headers}
    assert (len(records), headers["ce_type"]) == (1, "billing.invoice_issued.v1")
    assert records[0].key.decode() == str(allocation.application_id)
    body = json.loads(records[0].value)
    assert (body["invoice_id"], body["market_value_krw"], body["payable_krw"]) == (invoice["id"], 168_000, 50_400)
    assert body["gpu_hours"] == 42.0


async def test_redelivered_allocation_and_reclaim_leave_one_invoice_with_the_same_totals(stack: Stack) -> None:
    start = this_minute() - timedelta(hours=5)
    allocation = allocated(starts_at=start, hours=24, program="P3", gpus=2)
    reclaim = reclaimed(allocation, start + timedelta(hours=3))
    async with stack.api("billing") as api, stack.worker("billing") as worker:
        await deliver(stack, allocation, reclaim)
        first = await first_invoice(api, allocation.application_id)
        await deliver(stack, allocation, reclaim)                                  # redelivery, same ids
        await deliver(stack, reclaimed(allocation, start + timedelta(hours=4)))  # a reclaim sent twice
        await eventually(lambda: _at_least(worker.consumer.processed, 5), what="the redeliveries processed")
        after = await invoices_of(api, allocation.application_id)
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic("billing.invoices.v1"),
                                   at_least=2, timeout=3)
    assert after == [first]
    assert (first["market_value_krw"], first["payable_krw"]) == (24_000, 0)  # 6 GPU-hours; P3 is free
    assert len(records) == 1
    assert await stack.count("billing.invoice") == 1


async def test_the_clock_invoices_an_allocation_whose_period_has_ended(stack: Stack) -> None:
    clock = ManualClock(this_minute())
    ended = allocated(starts_at=clock.now, hours=2, program="P3", gpus=2)
    running = allocated(starts_at=clock.now, hours=48, program="P3")
    settings = {"invoicing": InvoicingSettings(period_s=0.2), "payer": PayerSettings(p3_user_share=Decimal("0.25"))}
    async with stack.api("billing") as api, stack.worker("billing", clock=clock, **settings):
        await deliver(stack, ended, running)
        await account_of(api, running.allocation_id)
        await account_of(api, ended.allocation_id)
        await asyncio.sleep(0.6)  # three ticks of the invoicing round while the period still runs
        too_early = await invoices_of(api, ended.application_id)
        clock.advance(hours=2, minutes=1)
        invoice = await first_invoice(api, ended.application_id)
        await asyncio.sleep(0.6)  # three more ticks
        still_running = await account_of(api, running.allocation_id)
        not_invoiced = await invoices_of(api, running.application_id)
    assert too_early == []
    # 2 GPUs x 2 h = 4 GPU-hours x 4,000 KRW = 16,000 KRW, of which the configured P3 share is 25%
    assert Decimal(invoice["gpu_hours"]) == Decimal(4)
    assert (invoice["market_value_krw"], invoice["payable_krw"]) == (16_000, 4_000)
    assert datetime.fromisoformat(invoice["period_end"]) == ended.ends_at
    assert datetime.fromisoformat(invoice["issued_at"]) == clock.now
    assert (still_running["status"], not_invoiced) == ("open", [])


async def test_a_tariff_set_through_the_api_prices_the_allocations_after_it(stack: Stack) -> None:
    start = this_minute() - timedelta(hours=2)
    before = allocated(starts_at=start, hours=24, gpu_model="H200")
    after = allocated(starts_at=start, hours=24, gpu_model="H200", gpus=1)
    async with stack.api("billing") as api, stack.worker("billing"):
        await deliver(stack, before)
        assert (await account_of(api, before.allocation_id))["krw_per_gpu_hour"] == 4000  # the default
        response = await api.put("/tariffs/H200", json={"krw_per_gpu_hour": 5500}, headers=OPERATOR)
        await deliver(stack, after, reclaimed(after, start + timedelta(hours=2)))
        invoice = await first_invoice(api, after.application_id)
        tariffs = (await api.get("/tariffs", headers=OPERATOR)).json()
        before_account = await account_of(api, before.allocation_id)
    assert response.status_code == 200, response.text
    assert [(t["gpu_model"], t["krw_per_gpu_hour"]) for t in tariffs] == [("H200", 5500)]
    assert (invoice["krw_per_gpu_hour"], invoice["market_value_krw"], invoice["payable_krw"]) == (5500, 11_000, 3_300)
    assert before_account["krw_per_gpu_hour"] == 4000  # priced when it was allocated


async def test_measured_usage_is_kept_once_per_window_beside_the_account(stack: Stack) -> None:
    start = this_minute() - timedelta(hours=2)
    allocation = allocated(starts_at=start, hours=24)
    usage = [UsageRecorded(application_id=allocation.application_id, allocation_id=allocation.allocation_id,
                           window_start=start + timedelta(hours=h), window_end=start + timedelta(hours=h + 1),
                           gpu_hours=gpu_hours, utilization_pct=pct)
             for h, gpu_hours, pct in ((0, 3.5, 87.5), (1, 2.25, 56.25))]
    async with stack.api("billing") as api, stack.worker("billing") as worker:
        await deliver(stack, allocation, *usage, usage[0])  # the first window arrives twice
        await eventually(lambda: _at_least(worker.consumer.processed, 4), what="the usage processed")
        account = await account_of(api, allocation.allocation_id)
    assert Decimal(account["measured_gpu_hours"]) == Decimal("5.75")
    assert account["status"] == "open"  # usage is informational: it neither closes nor bills the account
    assert await stack.count("billing.usage_entry") == 2


async def _at_least(value: int, target: int) -> bool:
    return value >= target
