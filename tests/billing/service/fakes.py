"""Billing's repositories in memory, behind the service layer's ports (billing.service.unit_of_work), for the fast tier.

They keep what the SQL repositories keep: `get` hands out a copy (a change counts once saved), `save` writes only
what the SQL one writes, `add` refuses a second account or invoice of one allocation, and a usage entry sent again is
ignored.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from billing.domain.commands import OpenAccount
from billing.domain.model import (
    Account,
    AccountStatus,
    BillingPolicy,
    Invoice,
    PayerShares,
    ProgramCode,
    Tariff,
    UsageEntry,
)
from billing.service.handlers import HANDLERS
from billing.service.unit_of_work import BillingUnitOfWork
from servicekit.bus import MessageBus
from servicekit.clock import Clock
from support.fakes import FakeUnitOfWork, fake_bus


class InMemoryTariffs:
    def __init__(self, tariffs: tuple[Tariff, ...] = ()) -> None:
        self.by_model = {t.gpu_model: t for t in tariffs}

    async def get(self, gpu_model: str) -> Tariff | None:
        return self.by_model.get(gpu_model)

    async def put(self, new: Tariff) -> None:
        self.by_model[new.gpu_model] = new


class InMemoryAccounts:
    def __init__(self, accounts: tuple[Account, ...] = ()) -> None:
        self.by_allocation = {a.allocation_id: replace(a) for a in accounts}

    def __getitem__(self, allocation_id: UUID) -> Account:
        return self.by_allocation[allocation_id]

    async def add(self, new: Account) -> bool:
        if new.allocation_id in self.by_allocation:
            return False
        self.by_allocation[new.allocation_id] = replace(new)
        return True

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Account | None:
        found = self.by_allocation.get(allocation_id)
        return replace(found) if found else None

    async def save(self, changed: Account) -> None:
        stored = self.by_allocation[changed.allocation_id]
        self.by_allocation[changed.allocation_id] = replace(stored, status=changed.status,
                                                            closed_at=changed.closed_at)

    async def ended(self, now: datetime, *, limit: int) -> list[UUID]:
        due = sorted((a for a in self.by_allocation.values()
                      if a.status is AccountStatus.OPEN and a.ends_at <= now), key=lambda a: a.ends_at)
        return [a.allocation_id for a in due[:limit]]


class InMemoryUsageEntries:
    def __init__(self) -> None:
        self.by_id: dict[UUID, UsageEntry] = {}

    async def add(self, entry: UsageEntry) -> None:
        self.by_id.setdefault(entry.id, entry)


class InMemoryInvoices:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Invoice] = {}

    def of(self, allocation_id: UUID) -> list[Invoice]:
        return [i for i in self.by_id.values() if i.allocation_id == allocation_id]

    async def add(self, new: Invoice) -> None:
        if self.of(new.allocation_id):  # the invoice table's unique allocation_id
            raise ValueError(f"allocation {new.allocation_id} is already invoiced")
        self.by_id[new.id] = new


class FakeBillingUnitOfWork(FakeUnitOfWork):
    def __init__(self, *, tariffs: tuple[Tariff, ...] = (), accounts: tuple[Account, ...] = ()) -> None:
        super().__init__()
        self.tariffs = InMemoryTariffs(tariffs)
        self.accounts = InMemoryAccounts(accounts)
        self.usage = InMemoryUsageEntries()
        self.invoices = InMemoryInvoices()


def _fits(uow: FakeBillingUnitOfWork) -> BillingUnitOfWork:
    return uow  # mypy proves here that the fake meets the service layer's port


# what the tests start from: the default policy of the settings, with a paying P3 to tell the shares apart
POLICY = BillingPolicy(default_krw_per_gpu_hour=4000,
                       shares=PayerShares(p1_user_share=Decimal("0.30"), p2_user_share=Decimal("0.0"),
                                          p3_user_share=Decimal("0.25")))


def billing_bus(uow: FakeBillingUnitOfWork, clock: Clock) -> MessageBus:
    return fake_bus(uow, HANDLERS, clock=clock, policy=POLICY)


def allocated(starts_at: datetime, *, hours: float, program: ProgramCode = "P1", gpu_model: str = "H100",
              gpus: int = 4) -> OpenAccount:
    return OpenAccount(allocation_id=uuid4(), application_id=uuid4(), program=program, gpu_model=gpu_model,
                       gpus=gpus, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours))
