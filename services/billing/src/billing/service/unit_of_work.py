"""What billing's service layer relies on: its repositories, named as collections, and its unit of work.

The SQL unit of work (adapters) and the in-memory one of the fast tests both meet these Protocols.
"""
from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from billing.domain.model import Account, Invoice, Tariff, UsageEntry
from servicekit.uow import UnitOfWork


class Tariffs(Protocol):
    async def get(self, gpu_model: str) -> Tariff | None: ...
    async def put(self, new: Tariff) -> None:
        """Set the GPU model's price, replacing any earlier one."""


class Accounts(Protocol):
    async def add(self, new: Account) -> bool:
        """False when the allocation already has an account; the one stored is left as it is."""

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Account | None: ...
    async def save(self, changed: Account) -> None: ...
    async def ended(self, now: datetime, *, limit: int) -> list[UUID]:
        """Open accounts whose period ended by `now`, the longest waiting first."""


class UsageEntries(Protocol):
    async def add(self, entry: UsageEntry) -> None:
        """An entry whose id is stored already is ignored."""


class Invoices(Protocol):
    async def add(self, new: Invoice) -> None: ...


class BillingUnitOfWork(UnitOfWork, Protocol):
    @property
    def tariffs(self) -> Tariffs: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def usage(self) -> UsageEntries: ...
    @property
    def invoices(self) -> Invoices: ...
