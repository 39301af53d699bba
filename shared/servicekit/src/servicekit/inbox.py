"""The idempotent inbox: an event id is claimed once per consumer, in the transaction of its effects."""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from uuid import UUID

from sqlalchemy import Insert, Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection


@cache
def _claim(table: Table) -> Insert:
    """Claim rows, doing nothing for an id claimed before; built once per table, so SQLAlchemy compiles and keys
    it once per process."""
    return insert(table).on_conflict_do_nothing().returning(table.c.event_id)


class Inbox:
    def __init__(self, session: AsyncConnection, table: Table, consumer: str) -> None:
        self._session = session
        self._table = table
        self._consumer = consumer

    async def claim(self, event_id: UUID, event_type: str = "") -> bool:
        """True the first time; False when this consumer has already processed the event."""
        row = {"consumer": self._consumer, "event_id": event_id, "event_type": event_type}
        return (await self._session.execute(_claim(self._table), row)).first() is not None

    async def claim_many(self, messages: Sequence[tuple[UUID, str]]) -> set[UUID]:
        """Claim every (event id, type) in one statement; the ids claimed now (not before, not twice in the batch)."""
        unique = {event_id: event_type for event_id, event_type in reversed(messages)}
        if not unique:
            return set()
        # one statement, its rows sent in batches (SQLAlchemy's "insertmanyvalues")
        rows = [{"consumer": self._consumer, "event_id": event_id, "event_type": event_type}
                for event_id, event_type in unique.items()]
        return {row[0] for row in await self._session.execute(_claim(self._table), rows)}
