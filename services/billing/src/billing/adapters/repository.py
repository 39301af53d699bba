"""Tariffs, accounts, usage entries and invoices in and out of the database."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.orm import account, invoice, tariff, usage_entry
from billing.domain.model import Account, AccountStatus, Invoice, Tariff, UsageEntry


def _account(row: Any) -> Account:
    data = dict(row._mapping)
    data["status"] = AccountStatus(data["status"])
    return Account(**data)


class TariffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, gpu_model: str) -> Tariff | None:
        row = (await self._session.execute(select(tariff).where(tariff.c.gpu_model == gpu_model))).first()
        return Tariff(**row._mapping) if row else None

    async def put(self, new: Tariff) -> None:
        stmt = insert(tariff).values(asdict(new))
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[tariff.c.gpu_model],
            set_={"krw_per_gpu_hour": stmt.excluded.krw_per_gpu_hour, "updated_at": stmt.excluded.updated_at}))

    async def every(self) -> list[Tariff]:
        """Every tariff, by GPU model."""
        rows = (await self._session.execute(select(tariff).order_by(tariff.c.gpu_model))).all()
        return [Tariff(**r._mapping) for r in rows]


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Account) -> bool:
        """False when the allocation already has an account (the allocation was announced twice)."""
        values = {**asdict(new), "status": new.status.value}
        stmt = insert(account).values(values).on_conflict_do_nothing().returning(account.c.allocation_id)
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Account | None:
        stmt = select(account).where(account.c.allocation_id == allocation_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        return _account(row) if row else None

    async def save(self, changed: Account) -> None:
        await self._session.execute(account.update().where(account.c.allocation_id == changed.allocation_id)
                                    .values(status=changed.status.value, closed_at=changed.closed_at))

    async def ended(self, now: datetime, *, limit: int) -> list[UUID]:
        """Open accounts whose period ended by `now`, the longest waiting first."""
        stmt = (select(account.c.allocation_id)
                .where(account.c.status == AccountStatus.OPEN.value, account.c.ends_at <= now)
                .order_by(account.c.ends_at).limit(limit))
        return list((await self._session.scalars(stmt)).all())


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: UsageEntry) -> None:
        await self._session.execute(insert(usage_entry).values(asdict(entry)).on_conflict_do_nothing())

    async def measured_gpu_hours(self, allocation_id: UUID) -> Decimal:
        total = await self._session.scalar(select(func.coalesce(func.sum(usage_entry.c.gpu_hours), 0))
                                           .where(usage_entry.c.allocation_id == allocation_id))
        return Decimal(total or 0)


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Invoice) -> None:
        await self._session.execute(invoice.insert().values(asdict(new)))

    async def get(self, invoice_id: UUID) -> Invoice | None:
        row = (await self._session.execute(select(invoice).where(invoice.c.id == invoice_id))).first()
        return Invoice(**row._mapping) if row else None

    async def find(self, *, application_id: UUID | None = None, limit: int = 50) -> list[Invoice]:
        """The newest invoices first, of one application if `application_id` is given."""
        stmt = select(invoice).order_by(invoice.c.issued_at.desc(), invoice.c.id).limit(limit)
        if application_id is not None:
            stmt = stmt.where(invoice.c.application_id == application_id)
        return [Invoice(**r._mapping) for r in (await self._session.execute(stmt)).all()]
