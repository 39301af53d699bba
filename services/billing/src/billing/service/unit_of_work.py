"""What billing's service layer relies on: its repositories, named as collections, and its unit of work.

The SQL unit of work (adapters) meets these Protocols; billing's handlers are tested against it on the real database.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from billing.domain.ledger import (
    Cause,
    Document,
    DocumentKind,
    DocumentStatus,
    Draft,
    Grant,
    Line,
    LineKey,
    MarketPrice,
    Posted,
    Profile,
    Release,
    Unbilled,
)
from billing.domain.model import UsageEntry
from servicekit.uow import UnitOfWork


class Profiles(Protocol):
    async def add(self, profile: Profile) -> list[UUID] | None:
        """None when the application is known already (the first announcement stands); else the allocations granted
        to it so far, in id order."""

    async def put_youth(self, application_id: UUID, is_youth: bool) -> list[UUID]:
        """Record (or correct) the finding; the allocations granted to the application so far, in id order."""

    async def add_release(self, application_id: UUID, found: Release, at: datetime, by: str) -> bool: ...
    async def get(self, application_id: UUID) -> Profile | None: ...


class Grants(Protocol):
    async def open(self, new: Grant) -> tuple[Grant, Profile | None] | None:
        """None when the allocation is known already; else the grant as stored (ended if its reclaim was read
        first) and its application's profile, if billing has read it."""

    async def end(self, allocation_id: UUID, at: datetime) -> None: ...
    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Grant | None: ...
    async def of_application(self, application_id: UUID) -> list[UUID]: ...
    async def priced_by(self, csp: str, gpu_model: str, effective_from: date) -> list[UUID]: ...


class Prices(Protocol):
    async def put(self, price: MarketPrice, event_id: UUID, at: datetime, by: str) -> None: ...
    async def of_model(self, gpu_model: str) -> list[MarketPrice]: ...


class Ledger(Protocol):
    async def posted(self, allocation_id: UUID) -> dict[LineKey, Posted]: ...
    async def append(self, lines: Sequence[Line], cause: Cause, at: datetime) -> None: ...
    async def unbilled(self, before: datetime) -> list[Unbilled]: ...


class Documents(Protocol):
    async def lock_round(self) -> None: ...
    async def drop_drafts(self) -> None: ...
    async def ordinal(self, draft: Draft) -> int: ...
    async def add_draft(self, document_id: UUID, draft: Draft, credits: Sequence[str], reason: str | None,
                        at: datetime, busy: dict[tuple[UUID, datetime, datetime], Decimal]) -> None: ...
    async def invoices_billing(self, keys: Iterable[LineKey]) -> list[str]: ...
    async def next_number(self, kind: DocumentKind, year: int) -> int: ...
    async def drafts_due(self, drafted_by: datetime) -> list[dict[str, Any]]: ...
    async def set_status(self, document_id: UUID, status: DocumentStatus, **values: Any) -> None: ...
    async def get(self, document_id: UUID, *, for_update: bool = False) -> Document | None: ...


class UsageEntries(Protocol):
    async def add(self, entry: UsageEntry) -> None:
        """An entry whose id is stored already is ignored."""

    async def busy_gpu_hours(self, allocation_id: UUID, start: datetime, end: datetime) -> Decimal: ...


class BillingUnitOfWork(UnitOfWork, Protocol):
    @property
    def profiles(self) -> Profiles: ...
    @property
    def grants(self) -> Grants: ...
    @property
    def prices(self) -> Prices: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def documents(self) -> Documents: ...
    @property
    def usage(self) -> UsageEntries: ...
