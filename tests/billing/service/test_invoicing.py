"""Billing's invoicing clock on the in-memory fakes: an account is invoiced once its period has ended, whole, once."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from billing.domain.commands import CloseAccount, InvoiceEndedAccount
from billing.domain.model import Account, AccountStatus
from billing.service.invoicing import InvoicingIncomplete, invoice_ended_accounts
from contracts import InvoiceIssued
from support.clock import ManualClock

from .fakes import FakeBillingUnitOfWork, InMemoryAccounts, allocated, billing_bus


async def test_an_account_whose_period_has_ended_is_invoiced_for_the_whole_period() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=2, program="P3", gpus=2)
    await bus.handle(cmd)
    now = clock.advance(hours=2, minutes=5)
    invoice = await bus.handle(InvoiceEndedAccount(allocation_id=cmd.allocation_id, at=now))
    # 2 GPUs x 2 h = 4 GPU-hours x 4,000 KRW = 16,000 KRW, of which P3 pays 25% here
    assert (invoice.gpu_hours, invoice.market_value_krw, invoice.payable_krw) == (Decimal(4), 16_000, 4_000)
    assert (invoice.period_end, invoice.issued_at) == (cmd.ends_at, now)
    assert uow.accounts[cmd.allocation_id].status is AccountStatus.INVOICED
    assert [e.invoice_id for e in uow.outbox.of_type(InvoiceIssued)] == [invoice.id]


async def test_an_account_still_running_is_not_invoiced() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=2)
    await bus.handle(cmd)
    early = await bus.handle(InvoiceEndedAccount(allocation_id=cmd.allocation_id, at=clock.advance(minutes=119)))
    assert (early, uow.invoices.by_id, uow.published) == (None, {}, [])
    assert uow.accounts[cmd.allocation_id].status is AccountStatus.OPEN


async def test_an_account_invoiced_by_a_reclaim_meanwhile_is_not_invoiced_again() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus, cmd = billing_bus(uow, clock), allocated(clock.now, hours=2)
    await bus.handle(cmd)
    await bus.handle(CloseAccount(allocation_id=cmd.allocation_id, closed_at=clock.advance(hours=1)))
    late = await bus.handle(InvoiceEndedAccount(allocation_id=cmd.allocation_id, at=clock.advance(hours=2)))
    assert late is None
    assert [i.period_end for i in uow.invoices.of(cmd.allocation_id)] == [cmd.starts_at + timedelta(hours=1)]
    assert len(uow.published) == 1


async def test_an_account_billing_never_opened_is_not_invoiced() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    unknown = await billing_bus(uow, clock).handle(InvoiceEndedAccount(allocation_id=uuid4(), at=clock.now))
    assert (unknown, uow.published) == (None, [])


async def test_the_clock_invoices_every_ended_account_in_batches_the_longest_waiting_first() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus = billing_bus(uow, clock)
    ended = [allocated(clock.now, hours=hours) for hours in (5, 1, 4, 2, 3)]
    running = allocated(clock.now, hours=48)
    for cmd in (*ended, running):
        await bus.handle(cmd)
    opened = uow.commits
    clock.advance(hours=6)
    invoiced = await invoice_ended_accounts(bus, lambda: uow, clock, batch_size=2)
    assert invoiced == 5
    by_ends_at = sorted(ended, key=lambda cmd: cmd.ends_at)
    assert [e.allocation_id for e in uow.outbox.of_type(InvoiceIssued)] == [c.allocation_id for c in by_ends_at]
    assert uow.commits - opened == 5  # a transaction per account
    assert uow.accounts[running.allocation_id].status is AccountStatus.OPEN


async def test_the_clock_invoices_each_account_once_as_its_period_ends() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus = billing_bus(uow, clock)
    cmd = allocated(clock.now, hours=2)
    await bus.handle(cmd)

    async def tick() -> int:
        return await invoice_ended_accounts(bus, lambda: uow, clock, batch_size=100)

    before = await tick()
    clock.advance(hours=2)
    assert (before, await tick(), await tick()) == (0, 1, 0)
    [invoice] = uow.invoices.of(cmd.allocation_id)
    assert (invoice.period_end, invoice.issued_at) == (cmd.ends_at, clock.now)


async def test_a_clock_with_nothing_due_invoices_nothing() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    assert await invoice_ended_accounts(billing_bus(uow, clock), lambda: uow, clock, batch_size=1) == 0
    assert (uow.commits, uow.published) == (0, [])



class RefusingAccounts(InMemoryAccounts):
    """An account table that refuses to save one account, every time (a row that breaks a constraint): the account
    stays open and due, first in every batch."""

    def __init__(self, accounts: InMemoryAccounts, refused: UUID) -> None:
        super().__init__()
        self.by_allocation, self.refused = accounts.by_allocation, refused

    async def save(self, changed: Account) -> None:
        if changed.allocation_id == self.refused:
            raise ValueError(f"the account of allocation {changed.allocation_id} breaks a constraint")
        await super().save(changed)


async def test_an_account_that_cannot_be_invoiced_holds_back_none_of_the_others() -> None:
    clock = ManualClock()
    uow = FakeBillingUnitOfWork()
    bus = billing_bus(uow, clock)
    stuck, *others = [allocated(clock.now, hours=hours) for hours in (1, 2, 3)]
    for cmd in (stuck, *others):
        await bus.handle(cmd)
    uow.accounts = RefusingAccounts(uow.accounts, stuck.allocation_id)
    clock.advance(hours=4)
    with pytest.raises(InvoicingIncomplete) as refused:
        await invoice_ended_accounts(bus, lambda: uow, clock, batch_size=1)
    assert list(refused.value.failed) == [stuck.allocation_id]
    assert [e.allocation_id for e in uow.outbox.of_type(InvoiceIssued)] == [c.allocation_id for c in others]
    assert uow.accounts[stuck.allocation_id].status is AccountStatus.OPEN
