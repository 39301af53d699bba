"""The idempotent inbox: an event id is claimed once per consumer, in the transaction of its effects."""
from __future__ import annotations

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
