"""The idempotent inbox: an event id is claimed once per consumer, in the transaction of its effects."""
from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


class Inbox:
    def __init__(self, session: AsyncSession, table: Table, consumer: str) -> None:
        self._session = session
        self._table = table
        self._consumer = consumer

    async def claim(self, event_id: UUID, event_type: str = "") -> bool:
        """True the first time; False when this consumer has already processed the event."""
        stmt = (insert(self._table)
                .values(consumer=self._consumer, event_id=event_id, event_type=event_type)
                .on_conflict_do_nothing()
                .returning(self._table.c.event_id))
        return (await self._session.execute(stmt)).first() is not None

    async def claim_many(self, messages: Sequence[tuple[UUID, str]]) -> set[UUID]:
        """Claim every (event id, type) in one statement; the ids claimed now (not before, not twice in the batch)."""
        unique = {event_id: event_type for event_id, event_type in reversed(messages)}
        if not unique:
            return set()
        # one statement compiled once, its rows sent in batches (SQLAlchemy's "insertmanyvalues")
        stmt = insert(self._table).on_conflict_do_nothing().returning(self._table.c.event_id)
        rows = [{"consumer": self._consumer, "event_id": event_id, "event_type": event_type}
                for event_id, event_type in unique.items()]
        return {row[0] for row in await self._session.execute(stmt, rows)}
