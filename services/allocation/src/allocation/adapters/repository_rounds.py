"""Rounds with their decisions, and offers, in and out of the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from allocation.adapters.orm import offer, round_, round_decision
from allocation.domain.offers import Offer, OfferState
from allocation.domain.rounds import Round

ROUND_STATE = ("status", "selected_at", "method", "objective", "capacity", "reserve_gpus", "reserve_gpus_used",
               "solve_seconds")


def _round(row: Any) -> Round:
    data = dict(row._mapping)
    return Round(**data | {"expected": frozenset(data["expected"])})


class RoundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Round) -> bool:
        """False when the round is known already (a redelivered or repeated end of round)."""
        values = vars(item) | {"expected": sorted(item.expected)}
        stmt = insert(round_).values(values).on_conflict_do_nothing().returning(round_.c.call_id)
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, call_id: UUID) -> Round | None:
        row = (await self._session.execute(select(round_).where(round_.c.call_id == call_id))).first()
        return _round(row) if row else None

    async def lock_pending(self, call_id: UUID) -> bool:
        """Lock the round's row; True if it is pending. Its expected ids are not read: a large round's list is
        costly to load for every score that arrives."""
        stmt = select(round_.c.status).where(round_.c.call_id == call_id).with_for_update()
        return await self._session.scalar(stmt) == "pending"

    async def list(self, *, program: str | None = None, limit: int = 50) -> list[Round]:
        stmt = select(round_).order_by(round_.c.scored_at.desc()).limit(limit)
        if program is not None:
            stmt = stmt.where(round_.c.program == program)
        return [_round(r) for r in (await self._session.execute(stmt)).all()]

    async def save(self, item: Round) -> None:
        await self._session.execute(round_.update().where(round_.c.call_id == item.call_id).values(
            {k: getattr(item, k) for k in ROUND_STATE}))

    async def add_decisions(self, call_id: UUID, decisions: list[dict[str, Any]]) -> None:
        if decisions:
            await self._session.execute(round_decision.insert(), [d | {"call_id": call_id} for d in decisions])

    async def decisions(self, call_id: UUID) -> list[dict[str, Any]]:
        stmt = (select(round_decision).where(round_decision.c.call_id == call_id)
                .order_by(round_decision.c.selected.desc(), round_decision.c.rank))
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]


def _offer(row: Any) -> Offer:
    return Offer(**dict(row._mapping) | {"state": OfferState(row.state)})


class OfferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Offer) -> None:
        await self._session.execute(offer.insert().values(vars(item) | {"state": item.state.value}))

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

    async def list(self, *, state: str | None = None, application_id: UUID | None = None,
                   limit: int = 100) -> list[Offer]:
        stmt = select(offer).order_by(offer.c.requested_at.desc()).limit(limit)
        for column, value in (("state", state), ("application_id", application_id)):
            if value is not None:
                stmt = stmt.where(offer.c[column] == value)
        return [_offer(r) for r in (await self._session.execute(stmt)).all()]

    async def save(self, item: Offer) -> None:
        await self._session.execute(offer.update().where(offer.c.id == item.id).values(
            state=item.state.value, made_at=item.made_at, expires_at=item.expires_at, answered_at=item.answered_at))
