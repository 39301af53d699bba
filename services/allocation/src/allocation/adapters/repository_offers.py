"""Offers of freed capacity in and out of the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from allocation.adapters.orm import offer
from allocation.domain.offers import Offer, OfferKind, OfferState


def _offer(row: Any) -> Offer:
    return Offer(**dict(row._mapping) | {"state": OfferState(row.state), "kind": OfferKind(row.kind)})


class OfferRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, item: Offer) -> None:
        await self._session.execute(offer.insert().values(vars(item) | {"state": item.state.value,
                                                                        "kind": item.kind.value}))

    async def get(self, offer_id: UUID, *, for_update: bool = False) -> Offer | None:
        stmt = select(offer).where(offer.c.id == offer_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        return _offer(row) if row else None

    async def pending_for(self, application_id: UUID) -> Offer | None:
        stmt = (select(offer).where(offer.c.application_id == application_id,
                                    offer.c.state.in_(["awaiting_recheck", "open"])).with_for_update())
        row = (await self._session.execute(stmt)).first()
        return _offer(row) if row else None

    async def expired(self, now: datetime, limit: int = 100) -> list[Offer]:
        """Open offers past their expiry, locked; another worker skips them rather than wait."""
        stmt = (select(offer).where(offer.c.state == "open", offer.c.expires_at < now)
                .order_by(offer.c.expires_at).limit(limit).with_for_update(skip_locked=True))
        return [_offer(r) for r in (await self._session.execute(stmt)).all()]

    async def unanswered_rechecks(self, asked_before: datetime, limit: int = 100) -> list[Offer]:
        stmt = (select(offer).where(offer.c.state == "awaiting_recheck", offer.c.requested_at < asked_before)
                .order_by(offer.c.requested_at).limit(limit).with_for_update(skip_locked=True))
        return [_offer(r) for r in (await self._session.execute(stmt)).all()]

    async def find(self, *, state: OfferState | None = None, application_id: UUID | None = None,
                   limit: int = 100) -> list[Offer]:
        """The latest offers first."""
        stmt = select(offer).order_by(offer.c.requested_at.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(offer.c.state == state.value)
        if application_id is not None:
            stmt = stmt.where(offer.c.application_id == application_id)
        return [_offer(r) for r in (await self._session.execute(stmt)).all()]

    async def save(self, item: Offer) -> None:
        await self._session.execute(offer.update().where(offer.c.id == item.id).values(
            state=item.state.value, made_at=item.made_at, expires_at=item.expires_at, answered_at=item.answered_at))
