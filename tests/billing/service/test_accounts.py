"""Billing's service layer on the in-memory fakes: accounts opened at the tariff of the day, reclaims invoiced,
usage kept beside the account, tariffs set."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from billing.domain.commands import CloseAccount, RecordUsage, SetTariff
from billing.domain.errors import InvalidTariff
from billing.domain.model import AccountStatus, Tariff
from contracts import InvoiceIssued
from support.clock import ManualClock

from .fakes import FakeBillingUnitOfWork, allocated, billing_bus


async def test_an_allocation_opens_an_account_priced_at_the_tariff_of_the_day() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork(tariffs=(Tariff("H200", 5500, clock.now - timedelta(days=3)),))
    cmd = allocated(clock.now + timedelta(days=1), hours=24, gpu_model="H200")  # announced the day before
    await billing_bus(uow, clock).handle(cmd)
    account = uow.accounts[cmd.allocation_id]
    assert (account.krw_per_gpu_hour, account.status, account.closed_at) == (5500, AccountStatus.OPEN, None)
    assert (account.opened_at, account.ends_at) == (clock.now, cmd.starts_at + timedelta(hours=24))
    assert (uow.commits, uow.published) == (1, [])


async def test_a_gpu_model_without_a_tariff_is_priced_at_the_default() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork(tariffs=(Tariff("H200", 5500, clock.now),))
    cmd = allocated(clock.now, hours=24, gpu_model="B200")
    await billing_bus(uow, clock).handle(cmd)
    assert uow.accounts[cmd.allocation_id].krw_per_gpu_hour == 4000


async def test_an_allocation_announced_again_keeps_its_first_account_and_price() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=24)
    opened_at = clock.now
    await bus.handle(cmd)
    clock.advance(hours=1)
    await bus.handle(SetTariff(gpu_model="H100", krw_per_gpu_hour=9000))
    await bus.handle(cmd)  # the same allocation, announced twice
    account = uow.accounts[cmd.allocation_id]
    assert (account.krw_per_gpu_hour, account.opened_at) == (4000, opened_at)
    assert len(uow.accounts.by_allocation) == 1


async def test_a_reclaim_invoices_the_hours_held_until_then_and_says_so() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=30 * 24)
    await bus.handle(cmd)
    reclaimed_at = clock.advance(hours=12) - timedelta(hours=1, minutes=30)
    await bus.handle(CloseAccount(allocation_id=cmd.allocation_id, closed_at=reclaimed_at))
    [invoice] = uow.invoices.of(cmd.allocation_id)
    # 4 GPUs x 10.5 h = 42 GPU-hours x 4,000 KRW = 168,000 KRW; P1 pays 30%
    assert (invoice.gpu_hours, invoice.market_value_krw, invoice.payable_krw) == (Decimal(42), 168_000, 50_400)
    assert (invoice.period_end, invoice.issued_at) == (reclaimed_at, clock.now)
    account = uow.accounts[cmd.allocation_id]
    assert (account.status, account.closed_at) == (AccountStatus.INVOICED, reclaimed_at)
    [issued] = uow.outbox.of_type(InvoiceIssued)
    assert (issued.invoice_id, issued.allocation_id, issued.application_id) == (
        invoice.id, cmd.allocation_id, cmd.application_id)
    assert (issued.program, issued.gpu_hours, issued.market_value_krw, issued.payable_krw) == (
        "P1", 42.0, 168_000, 50_400)


async def test_a_reclaim_of_an_allocation_billing_never_saw_changes_nothing() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    result = await billing_bus(uow, clock).handle(CloseAccount(allocation_id=uuid4(), closed_at=clock.now))
    assert (result, uow.invoices.by_id, uow.published) == (None, {}, [])


async def test_a_second_reclaim_of_an_invoiced_account_changes_nothing() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=24, program="P3", gpus=2)
    await bus.handle(cmd)
    first_reclaim = cmd.starts_at + timedelta(hours=3)
    await bus.handle(CloseAccount(allocation_id=cmd.allocation_id, closed_at=first_reclaim))
    later = first_reclaim + timedelta(hours=1)
    again = await bus.handle(CloseAccount(allocation_id=cmd.allocation_id, closed_at=later))
    [invoice] = uow.invoices.of(cmd.allocation_id)
    assert again is None
    assert (invoice.market_value_krw, invoice.payable_krw) == (24_000, 6_000)  # 6 GPU-hours; P3 pays 25% here
    assert uow.accounts[cmd.allocation_id].closed_at == first_reclaim
    assert len(uow.outbox.of_type(InvoiceIssued)) == 1


async def test_measured_usage_is_kept_once_per_entry_and_neither_closes_nor_bills_the_account() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=24)
    await bus.handle(cmd)
    usage = RecordUsage(entry_id=uuid4(), allocation_id=cmd.allocation_id, application_id=cmd.application_id,
                        window_start=clock.now, window_end=clock.now + timedelta(hours=1),
                        gpu_hours=Decimal("3.5"), utilization_pct=87.5, recorded_at=clock.now + timedelta(hours=1))
    await bus.handle(usage)
    await bus.handle(usage)  # re-sent under the same id
    assert [(e.id, e.gpu_hours) for e in uow.usage.by_id.values()] == [(usage.entry_id, Decimal("3.5"))]
    assert uow.accounts[cmd.allocation_id].status is AccountStatus.OPEN
    assert (uow.invoices.by_id, uow.published) == ({}, [])


async def test_setting_a_tariff_again_replaces_the_price_and_its_time() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus = billing_bus(uow, clock)
    await bus.handle(SetTariff(gpu_model="B200", krw_per_gpu_hour=7000))
    later = clock.advance(days=2)
    answered = await bus.handle(SetTariff(gpu_model="B200", krw_per_gpu_hour=6500))
    assert answered == Tariff("B200", 6500, later) == uow.tariffs.by_model["B200"]
    assert list(uow.tariffs.by_model) == ["B200"]


async def test_a_tariff_the_rules_refuse_is_not_stored() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    with pytest.raises(InvalidTariff) as refused:
        await billing_bus(uow, clock).handle(SetTariff(gpu_model="", krw_per_gpu_hour=7000))
    assert refused.value.problems == [("gpu_model", "must not be empty")]
    assert (uow.tariffs.by_model, uow.commits) == ({}, 0)
